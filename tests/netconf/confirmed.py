"""Confirmed commit (RFC 6241 §8.4, :confirmed-commit:1.1): expiry rolls
back, a confirming commit keeps, persist/persist-id across sessions,
cancel-commit, and the project's commit history and rollback RPC."""

import time

from lxml import etree

from nc import *

m = connect()
assert_ok(m.edit_config(target="running", config=ifaces(iface("base"))))

# expiry
assert_ok(m.edit_config(target="candidate", config=ifaces(iface("temp"))))
assert_ok(m.commit(confirmed=True, timeout="2"))
assert "temp" in m.get_config(source="running").xml
time.sleep(4)
assert "temp" not in m.get_config(source="running").xml
assert "base" in m.get_config(source="running").xml
ok("confirmed commit expires")

# confirming commit
assert_ok(m.edit_config(target="candidate", config=ifaces(iface("kept"))))
assert_ok(m.commit(confirmed=True, timeout="2"))
assert_ok(m.commit())
time.sleep(3)
assert "kept" in m.get_config(source="running").xml
ok("confirming commit")

# persist: another session confirms with the persist-id
assert_ok(m.edit_config(target="candidate", config=ifaces(iface("persisted"))))
assert_ok(m.commit(confirmed=True, timeout="30", persist="token-1"))
other = connect()
r = other.commit()
check_error(r, "protocol", "invalid-value")
assert_ok(other.commit(persist_id="token-1"))
time.sleep(1)
assert "persisted" in other.get_config(source="running").xml
ok("persist / persist-id")

# cancel-commit
assert_ok(m.edit_config(target="candidate", config=ifaces(iface("cancelled"))))
assert_ok(m.commit(confirmed=True, timeout="60"))
assert "cancelled" in m.get_config(source="running").xml
assert_ok(m.dispatch(etree.fromstring(f'<cancel-commit xmlns="{BASE}"/>')))
assert "cancelled" not in m.get_config(source="running").xml
r = m.dispatch(etree.fromstring(f'<cancel-commit xmlns="{BASE}"/>'))
check_error(r, "protocol", "operation-failed")
ok("cancel-commit")

# the session that made a non-persistent confirmed commit goes away
s2 = connect()
assert_ok(s2.edit_config(target="candidate", config=ifaces(iface("orphan"))))
assert_ok(s2.commit(confirmed=True, timeout="60"))
assert "orphan" in m.get_config(source="running").xml
s2.close_session()
time.sleep(0.5)
assert "orphan" not in m.get_config(source="running").xml
ok("session end rolls back")

# commit history and rollback (nectar-mgmt)
hist = m.get(filter=("subtree", '<commit-history xmlns="urn:nectar:yang:nectar-mgmt"/>'))
ids = [int(x) for x in hist.data_ele.xpath("//h:commit/h:id/text()", namespaces={"h": "urn:nectar:yang:nectar-mgmt"})]
assert len(ids) >= 5, hist.xml
first = min(ids)
r = m.dispatch(etree.fromstring(f'<rollback xmlns="urn:nectar:yang:nectar-mgmt"><id>{first}</id></rollback>'))
new = etree.fromstring(r.xml.encode()).xpath("//h:id/text()", namespaces={"h": "urn:nectar:yang:nectar-mgmt"})
assert new and int(new[0]) > max(ids), r.xml
names = m.get_config(source="running").data_ele.xpath("//i:name/text()", namespaces={"i": IF_NS})
assert names == ["base"], names
r = m.dispatch(etree.fromstring('<rollback xmlns="urn:nectar:yang:nectar-mgmt"><id>999999</id></rollback>'))
check_error(r, "application", "invalid-value")
r = m.dispatch(etree.fromstring('<rollback xmlns="urn:nectar:yang:nectar-mgmt"/>'))
assert errors_of(r), r.xml
ok("history / rollback")
