package pcapgen

// IPOffset is where the IP packet (the outer one, for GRE and VXLAN)
// starts in frames built for l.
func (l Link) IPOffset() int {
	switch l {
	case VLAN:
		return 18
	case QinQ:
		return 22
	case SLL:
		return 16
	case SLL2:
		return 20
	case Raw:
		return 0
	case Null:
		return 4
	default:
		return 14
	}
}
