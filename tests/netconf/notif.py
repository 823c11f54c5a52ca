"""RFC 5277 notifications on the NETCONF stream with the RFC 6470 events:
create-subscription (filter, replay with startTime, stopTime), interleave
with RPCs, netconf-config-change / session-start / session-end /
confirmed-commit, and the create-subscription errors."""

import datetime
import time

from lxml import etree

from nc import *

NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
NETMOD = "urn:ietf:params:xml:ns:netmod:notification"
N = {"n": NCN, "e": "urn:ietf:params:xml:ns:netconf:notification:1.0"}


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def collect(m, until, timeout=15):
    """Notifications (as lxml elements) until one satisfies `until`."""
    got = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = m.take_notification(block=True, timeout=1)
        if n is None:
            continue
        el = etree.fromstring(n.notification_xml.encode() if isinstance(n.notification_xml, str) else n.notification_xml)
        got.append(el)
        if until(el):
            return got
    raise AssertionError("notification not received; got:\n" + "\n".join(etree.tostring(g).decode() for g in got))


def has(el, xpath):
    return bool(el.xpath(xpath, namespaces=N))


t0 = time.time() - 1
listener = connect()
assert_ok(listener.create_subscription())
ok("create-subscription")

actor = connect()
got = collect(listener, lambda e: has(e, f"//n:netconf-session-start[n:session-id='{actor.session_id}']"))
start = got[-1]
assert start.xpath("//n:username/text()", namespaces=N) == ["admin"]
assert start.xpath("//n:source-host/text()", namespaces=N) == ["127.0.0.1"]
assert start.xpath("//e:eventTime/text()", namespaces=N)[0].endswith("Z")
ok("session-start")

assert_ok(actor.edit_config(target="running", config=ifaces(iface("notified"))))
got = collect(listener, lambda e: has(e, "//n:netconf-config-change"))
cc = got[-1]
assert cc.xpath("//n:datastore/text()", namespaces=N) == ["running"], etree.tostring(cc)
targets = cc.xpath("//n:edit/n:target/text()", namespaces=N)
assert any("notified" in t for t in targets), etree.tostring(cc)
assert cc.xpath("//n:edit/n:operation/text()", namespaces=N)[0] == "create"
assert cc.xpath("//n:changed-by/n:session-id/text()", namespaces=N) == [str(actor.session_id)]
# interleave: the subscribed session still runs RPCs
assert "notified" in listener.get_config(source="running").xml
ok("config-change / interleave")

assert_ok(actor.edit_config(target="candidate", config=ifaces(iface("confirm"))))
assert_ok(actor.commit(confirmed=True, timeout="120"))
got = collect(listener, lambda e: has(e, "//n:netconf-confirmed-commit"))
assert got[-1].xpath("//n:confirm-event/text()", namespaces=N) == ["start"]
assert got[-1].xpath("//n:timeout/text()", namespaces=N) == ["120"]
assert_ok(actor.commit())
got = collect(listener, lambda e: has(e, "//n:netconf-confirmed-commit[n:confirm-event='complete']"))
ok("confirmed-commit")

aid = actor.session_id
actor.close_session()
got = collect(listener, lambda e: has(e, f"//n:netconf-session-end[n:session-id='{aid}']"))
assert got[-1].xpath("//n:termination-reason/text()", namespaces=N) == ["closed"]
ok("session-end")

# filter: only config changes
filtered = connect()
assert_ok(filtered.create_subscription(filter=("subtree", f'<netconf-config-change xmlns="{NCN}"/>')))
other = connect()
assert_ok(other.edit_config(target="running", config=ifaces(iface("filtered"))))
got = collect(filtered, lambda e: has(e, "//n:netconf-config-change"))
assert not any(has(g, "//n:netconf-session-start") for g in got), [etree.tostring(g) for g in got]
ok("filter")

# replay from t0 up to now: everything above, then replayComplete and
# notificationComplete
replay = connect()
stop = time.time()
assert_ok(replay.create_subscription(start_time=rfc3339(t0), stop_time=rfc3339(stop)))
got = collect(replay, lambda e: e.find(f"{{{NETMOD}}}notificationComplete") is not None)
kinds = [etree.QName(g[1]).localname for g in got]
assert kinds[-2:] == ["replayComplete", "notificationComplete"], kinds
assert "netconf-session-start" in kinds and "netconf-config-change" in kinds and "netconf-confirmed-commit" in kinds, kinds
# the session stays usable and can subscribe again
assert replay.get_config(source="running").ok
ok("replay / stopTime")

# replay without stop: replayComplete, then live ones
live = connect()
assert_ok(live.create_subscription(start_time=rfc3339(time.time() - 3600)))
got = collect(live, lambda e: e.find(f"{{{NETMOD}}}replayComplete") is not None)
assert_ok(other.edit_config(target="running", config=ifaces(iface("after-replay"))))
got = collect(live, lambda e: has(e, "//n:netconf-config-change") and b"after-replay" in etree.tostring(e))
ok("replay then live")

# errors
e = connect()
NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
r = e.dispatch(etree.fromstring(f'<create-subscription xmlns="{NOTIF}"><stopTime>{rfc3339(time.time())}</stopTime></create-subscription>'))
check_error(r, "protocol", "missing-element", info={"bad-element": "startTime"})
r = e.create_subscription(start_time=rfc3339(time.time() + 3600))
check_error(r, "protocol", "bad-element", info={"bad-element": "startTime"})
r = e.dispatch(etree.fromstring(f'<create-subscription xmlns="{NOTIF}"><startTime>{rfc3339(time.time() - 10)}</startTime><stopTime>{rfc3339(time.time() - 20)}</stopTime></create-subscription>'))
check_error(r, "protocol", "bad-element", info={"bad-element": "stopTime"})
r = e.create_subscription(stream_name="NOPE")
check_error(r, "application", "invalid-value")
assert_ok(e.create_subscription())
# One subscription per session (RFC 5277): a second is resource-denied, and
# another session may still subscribe.
r = e.create_subscription()
check_error(r, "protocol", "resource-denied")
assert_ok(connect().create_subscription())
ok("subscription errors")
