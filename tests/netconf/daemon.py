"""ncclient against the nectar daemon: the configured users (password),
capabilities, edit and read of NACM configuration, NACM for a non-admin
user, monitoring, and a config-change notification from the daemon's bus."""

import time

from lxml import etree

from nc import *

admin = connect()
caps = set(admin.server_capabilities)
assert "urn:ietf:params:netconf:base:1.1" in caps
assert any(c.startswith("urn:ietf:params:netconf:capability:yang-library:1.1?revision=2019-01-04&content-id=") for c in caps)
ok("hello")

listener = connect()
assert_ok(listener.create_subscription())

rules = f'''<config xmlns="{BASE}"><nacm xmlns="{ACM_NS}"><groups><group><name>ops</name><user-name>alice</user-name></group></groups></nacm></config>'''
assert_ok(admin.edit_config(target="running", config=rules))
r = admin.get_config(source="running", filter=("subtree", f'<nacm xmlns="{ACM_NS}"/>'))
assert "<user-name>alice</user-name>" in r.xml, r.xml
ok("edit / get-config")

alice = connect("alice", "alice-pw")
r = alice.get_config(source="running")
assert "nacm" not in r.xml, r.xml
r = alice.edit_config(target="running", config=rules.replace("alice", "mallory"))
check_error(r, "application", "access-denied")
ok("nacm")

r = admin.get(filter=("subtree", '<netconf-state xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"><sessions/></netconf-state>'))
assert r.xml.count("<session-id>") >= 3, r.xml
ok("monitoring")

deadline = time.time() + 15
seen = False
while time.time() < deadline and not seen:
    n = listener.take_notification(block=True, timeout=1)
    if n is not None and "netconf-config-change" in n.notification_xml:
        seen = True
assert seen, "no netconf-config-change"
ok("notifications")

try:
    connect("admin", "wrong")
    raise AssertionError("a wrong password was accepted")
except AssertionError:
    raise
except Exception:
    pass
ok("wrong password refused")
