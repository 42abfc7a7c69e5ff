"""The client side of a CI test, for check's capture-around tests and docs/check.md.

python3 leak.py PORT: connect to 127.0.0.1:PORT, send a request, read the
answer, shut down the write side and wait up to 1 s for the server to close.
A server that never closes is left in CLOSE_WAIT: the leak the gate catches.
"""
import socket
import sys

port = int(sys.argv[1])
c = socket.create_connection(("127.0.0.1", port), timeout=1)
c.sendall(b"ping")
c.recv(100)
c.shutdown(socket.SHUT_WR)
try:
    c.recv(100)  # the server's FIN, if it closes
except socket.timeout:
    pass
c.close()
