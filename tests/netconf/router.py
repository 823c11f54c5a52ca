"""RFC 8344 router interfaces over NETCONF with ncclient: two ethernet ports
with ietf-ip addresses and <forwarding> set explicitly, edited in the
candidate and committed, as an operator's standard router configuration is.

Usage: router.py HOST PORT PASSWORD FORWARDING_OF_ETH0 (true|false)"""

import sys

from nc import BASE, IANA_NS, IF_NS, IP_NS, connect, ok

password, fwd = sys.argv[3], sys.argv[4]


def routed(name, addr, forwarding):
    return (
        f"<interface><name>{name}</name>"
        f'<type xmlns:ianaift="{IANA_NS}">ianaift:ethernetCsmacd</type>'
        f"<enabled>true</enabled>"
        f'<ipv4 xmlns="{IP_NS}"><enabled>true</enabled><forwarding>{forwarding}</forwarding>'
        f"<address><ip>{addr}</ip><prefix-length>24</prefix-length></address></ipv4>"
        f"</interface>"
    )


config = (
    f'<config xmlns="{BASE}"><interfaces xmlns="{IF_NS}">'
    + routed("eth0", "10.1.0.1", fwd)
    + routed("eth1", "10.2.0.1", "true")
    + "</interfaces></config>"
)
with connect(password=password) as m:
    r = m.edit_config(target="candidate", config=config)
    assert r.ok, r.xml
    r = m.commit()
    assert r.ok, r.xml
    got = m.get_config(
        source="running",
        filter=("subtree", f'<interfaces xmlns="{IF_NS}"><interface><name>eth0</name></interface></interfaces>'),
    )
    assert f"<forwarding>{fwd}</forwarding>" in got.xml, got.xml
    ok(f"router interfaces committed, eth0 forwarding {fwd}")
