#separator \x09
#set_separator	,
#empty_field	(empty)
#unset_field	-
#path	conn
#open	2026-11-21-10-00-00
#fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	proto	service	duration	orig_bytes	resp_bytes	conn_state	local_orig	local_resp	missed_bytes	history	orig_pkts	orig_ip_bytes	resp_pkts	resp_ip_bytes	tunnel_parents
#types	time	string	addr	port	addr	port	enum	string	interval	count	count	string	bool	bool	count	string	count	count	count	count	set[string]
1795255200.000123	C1	10.0.0.1	41234	10.0.0.2	80	tcp	-	0.012500	120	4096	SF	-	-	0	ShADadFf	6	240	4	160	-
1795255200.020123	C2	10.0.0.1	41236	10.0.0.2	8080	tcp	-	0.000100	0	0	REJ	-	-	0	Sr	1	40	1	40	-
1795255200.030123	C3	10.0.0.1	41240	10.0.0.3	5432	tcp	-	4.200000	64	512	S2	-	-	0	ShADadF	5	200	4	160	-
1795255200.100123	C4	2001:db8::1	50000	2001:db8::2	443	tcp	-	0.050000	100	0	RSTR	-	-	0	^DdR	2	80	1	40	-
1795255200.200123	C5	10.0.0.1	41250	192.0.2.9	443	tcp	-	3.000000	0	0	S0	-	-	0	S	3	120	0	0	-
#close	2026-11-21-10-00-04
