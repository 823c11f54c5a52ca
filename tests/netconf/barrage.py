"""Hostile input over NETCONF, as a black box: mutated hellos and RPCs over many sessions
(byte flips, insertions of markup and control characters, truncation, repetition), and
hand-made attacks (deep nesting, entity expansion, invalid UTF-8, huge attributes, wrong
namespaces, message-id abuse). For every message the server either answers with a
well-formed rpc-reply or ends that session; it never stalls. A bystander session keeps
working throughout, and running is the same at the end as at the start.

Usage: hostile.py HOST PORT [SEED]"""

import random
import socket

from lxml import etree

from nc import BASE, IF_NS, IANA_NS, Raw, connect, ok

rnd = random.Random(int(__import__("sys").argv[3]) if len(__import__("sys").argv) > 3 else 6241)

bystander = connect()


def running():
    r = bystander.get_config(source="running")
    assert r.ok, r.xml
    root = etree.fromstring(r.xml.encode())
    data = root.find(f"{{{BASE}}}data")
    return etree.tostring(data, method="c14n")


before = running()

RPCS = [
    f'<rpc xmlns="{BASE}" message-id="1"><get-config><source><running/></source></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="2"><get><filter type="subtree"><interfaces xmlns="{IF_NS}"><interface><name/></interface></interfaces></filter></get></rpc>',
    f'<rpc xmlns="{BASE}" message-id="3"><edit-config><target><candidate/></target><config><interfaces xmlns="{IF_NS}"><interface><name>hx0</name><type xmlns:ianaift="{IANA_NS}">ianaift:softwareLoopback</type><description>a &amp; b</description></interface></interfaces></config></edit-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="4"><get-config><source><running/></source><filter type="xpath" select="/if:interfaces/if:interface[if:name=\'eth0\']" xmlns:if="{IF_NS}"/></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="5"><lock><target><candidate/></target></lock></rpc>',
    f'<rpc xmlns="{BASE}" message-id="6"><validate><source><candidate/></source></validate></rpc>',
]
HELLO = f'<hello xmlns="{BASE}"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>'
SPECIALS = [b"\x00", b"\xff", b"\xc3\x28", b"<", b">", b"&", b"&#0;", b"&#xFFFF;", b"]]>]]>",
            b"\n##\n", b"<!--", b"<![CDATA[", b"\"", b"'", "\u2028".encode(), "\u2068".encode(),
            b"\x0c", b"xmlns=\"urn:x\"", b"<x:y/>", b"\t" * 100]


def mutate(b: bytes) -> bytes:
    b = bytearray(b)
    for _ in range(rnd.randint(1, 4)):
        op = rnd.randrange(5)
        at = rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(at, len(b) - 1)] ^= 1 << rnd.randrange(8)
        elif op == 1:
            b[at:at] = rnd.choice(SPECIALS)
        elif op == 2:
            del b[at:at + rnd.randint(1, 20)]
        elif op == 3:
            end = min(len(b), at + rnd.randint(1, 40))
            b[at:at] = b[at:end] * rnd.randint(2, 5)
        else:
            b = b[:at]
    return bytes(b)


ATTACKS = [
    # deep nesting inside a subtree filter
    f'<rpc xmlns="{BASE}" message-id="10"><get><filter type="subtree">'.encode()
    + b"<a>" * 50000 + b"</a>" * 50000 + b"</filter></get></rpc>",
    # entity expansion (a billion laughs)
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    + f'<rpc xmlns="{BASE}" message-id="11"><get-config><source><running/></source><filter type="subtree">&d;</filter></get-config></rpc>'.encode(),
    # an external entity
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    + f'<rpc xmlns="{BASE}" message-id="12"><get-config><source><running/></source><filter type="subtree">&x;</filter></get-config></rpc>'.encode(),
    # invalid UTF-8 in a value and in a name
    f'<rpc xmlns="{BASE}" message-id="13"><edit-config><target><candidate/></target><config><interfaces xmlns="{IF_NS}"><interface><name>'.encode()
    + b"\xc3\x28\xa0\xa1" + b"</name></interface></interfaces></config></edit-config></rpc>",
    f'<rpc xmlns="{BASE}" message-id="14"><get-conf\xe9ig/></rpc>'.encode("latin-1"),
    # a huge attribute and a huge message-id
    f'<rpc xmlns="{BASE}" message-id="15" x="'.encode() + b"y" * 3_000_000 + b'"><get-config><source><running/></source></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="'.encode() + b"9" * 1_000_000 + b'"><get-config><source><running/></source></get-config></rpc>',
    # message-id abuse: markup, quotes, duplicates, empty
    f'<rpc xmlns="{BASE}" message-id="&lt;/rpc-reply&gt;&quot;"><get-config><source><running/></source></get-config></rpc>'.encode(),
    f'<rpc xmlns="{BASE}" message-id="1" message-id="2"><get-config><source><running/></source></get-config></rpc>'.encode(),
    f'<rpc xmlns="{BASE}" message-id=""><get-config><source><running/></source></get-config></rpc>'.encode(),
    # wrong namespaces
    b'<rpc xmlns="urn:example:not-netconf" message-id="16"><get-config><source><running/></source></get-config></rpc>',
    f'<rpc xmlns="{BASE}" message-id="17"><get-config xmlns="urn:example:x"><source><running/></source></get-config></rpc>'.encode(),
    f'<rpc xmlns="{BASE}" message-id="18"><edit-config><target><candidate/></target><config><interfaces xmlns="urn:example:x"><interface><name>x</name></interface></interfaces></config></edit-config></rpc>'.encode(),
    # many siblings in a filter
    f'<rpc xmlns="{BASE}" message-id="19"><get-config><source><running/></source><filter type="subtree"><interfaces xmlns="{IF_NS}">'.encode()
    + b"<interface><name>n</name></interface>" * 20000 + b"</interfaces></filter></get-config></rpc>",
]


def exchange(s, payload: bytes) -> bool:
    """Sends one framed message; True if a well-formed reply came, False if the server
    ended the session. A stall is a failure."""
    s.ch.settimeout(30)
    try:
        if s.chunked:
            s.ch.sendall(b"\n#%d\n" % len(payload) + payload + b"\n##\n")
        else:
            s.ch.sendall(payload + b"]]>]]>")
        reply = s.read()
    except (EOFError, OSError) as e:
        if isinstance(e, socket.timeout):
            raise AssertionError(f"the server stalled on {payload[:120]!r}")
        return False
    except AssertionError:
        return False  # framing the server broke off
    root = etree.fromstring(reply.encode())  # must be well-formed XML 1.0
    assert root.tag == f"{{{BASE}}}rpc-reply", reply[:300]
    return True


def session():
    return Raw()


answered = closed = 0
s = session()
n = 0
for payload in ATTACKS + [mutate(rnd.choice(RPCS).encode()) for _ in range(400)]:
    n += 1
    if exchange(s, payload):
        answered += 1
    else:
        closed += 1
        s = session()
    if n % 25 == 0:
        r = bystander.get_config(source="running")
        assert r.ok, "the bystander session failed"
ok(f"rpcs: {answered} answered, {closed} sessions ended")

# Mutated hellos on fresh sessions: refused (session ended) or taken; never a stall.
for _ in range(40):
    h = Raw(hello=False)
    try:
        h.ch.settimeout(10)
        h.ch.sendall(mutate(HELLO.encode()) + b"]]>]]>")
        h.chunked = True
        # Framed for base:1.1, then an end-of-message mark: whichever framing the mutated
        # hello left in force, the server has a complete message (or a framing error).
        h.ch.sendall(b"\n#%d\n" % len(RPCS[0]) + RPCS[0].encode() + b"\n##\n]]>]]>")
        h.read()
    except socket.timeout:
        raise AssertionError("the server stalled after a mutated hello")
    except (EOFError, OSError, AssertionError, ValueError):
        pass  # refused: the session ended
    finally:
        h.ch.close()
        h.t.close()
    assert bystander.get_config(source="running").ok
ok("hellos")

bystander.discard_changes()
assert running() == before, "running changed"
ok("running unchanged")
