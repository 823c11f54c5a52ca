"""YANG-Push over NETCONF (RFC 8639, 8640, 8641) with ncclient: dynamic
subscriptions to datastores (periodic with anchor-time, on-change with
dampening, sync-on-start and excluded-change), modify, delete, kill from a
second session, resync, the NETCONF stream with replay and filters (XPath,
subtree, named), NACM on what is pushed, the errors with their identities,
limits and a slow receiver's suspension (raw session). Every notification
received is validated with yanglint against the notification schemas.

Usage: yangpush.py HOST PORT MODELS_DIR"""

import datetime
import os
import subprocess
import sys
import tempfile
import time

from lxml import etree
from ncclient.xml_ import to_ele

MODELS = sys.argv[3]
from nc import *  # noqa: E402  (reads HOST PORT from argv)

SN = "urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications"
YP = "urn:ietf:params:xml:ns:yang:ietf-yang-push"
DS = "urn:ietf:params:xml:ns:yang:ietf-datastores"
NCN = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
N = {"sn": SN, "yp": YP, "e": NOTIF, "if": IF_NS, "ncn": NCN,
     "yd": "urn:ietf:params:xml:ns:yang:ietf-yang-patch"}

VALIDATED = []


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def lo(name, desc=None):
    d = f"<description>{desc}</description>" if desc is not None else ""
    return (f'<interface><name>{name}</name>'
            f'<type xmlns:ianaift="{IANA_NS}">ianaift:softwareLoopback</type>{d}</interface>')


def edit(m, *entries, op=None):
    assert_ok(m.edit_config(target="running", config=ifaces(*entries, op=op)))


class Inbox:
    """The notifications of one session, kept so that those of several
    subscriptions can be looked for in any order."""

    def __init__(self, m):
        self.m = m
        self.seen = []

    def _pull(self, timeout):
        n = self.m.take_notification(block=True, timeout=timeout)
        if n is None:
            return None
        text = n.notification_xml
        el = etree.fromstring(text.encode() if isinstance(text, str) else text)
        VALIDATED.append(etree.tostring(el).decode())
        self.seen.append(el)
        return el

    def take(self, pred, timeout=10, what="notification"):
        for i, el in enumerate(self.seen):
            if pred(el):
                return self.seen.pop(i)
        deadline = time.time() + timeout
        while time.time() < deadline:
            el = self._pull(min(1, max(0.05, deadline - time.time())))
            if el is not None and pred(el):
                self.seen.remove(el)
                return el
        raise AssertionError(f"{what} not received; have:\n" +
                             "\n".join(etree.tostring(e).decode()[:300] for e in self.seen))

    def none(self, pred, wait):
        """No matching notification arrives within `wait` seconds."""
        deadline = time.time() + wait
        while time.time() < deadline:
            self._pull(min(0.5, max(0.05, deadline - time.time())))
        bad = [e for e in self.seen if pred(e)]
        assert not bad, etree.tostring(bad[0]).decode()

    def drop(self, pred):
        self.seen = [e for e in self.seen if not pred(e)]


def of(kind, sid):
    """A predicate: a `kind` notification (prefix:name) of subscription sid."""
    return lambda el: bool(el.xpath(f"/e:notification/{kind}[*[local-name()='id']='{sid}']", namespaces=N))


def etime(el):
    return parse_time(el.xpath("/e:notification/e:eventTime/text()", namespaces=N)[0])


def establish(m, inner):
    r = m.dispatch(to_ele(f'<establish-subscription xmlns="{SN}" xmlns:yp="{YP}" xmlns:ds="{DS}">'
                          f'{inner}</establish-subscription>'))
    ids = xml_of(r).xpath("//sn:id/text()", namespaces=N)
    return (int(ids[0]) if ids else None), r


def rpc(m, name, inner, ns=SN):
    return m.dispatch(to_ele(f'<{name} xmlns="{ns}" xmlns:yp="{YP}">{inner}</{name}>'))


def ds_sub(ds, xpath, trigger):
    f = f'<yp:datastore-xpath-filter xmlns:if="{IF_NS}">{xpath}</yp:datastore-xpath-filter>' if xpath else ""
    return f"<yp:datastore>ds:{ds}</yp:datastore>{f}{trigger}"


T_START = time.time() - 2
m = connect()
box = Inbox(m)
other = connect()
edit(other, lo("yp-a", "one"), lo("yp-b", "b1"))

# --- periodic, with an anchor time: pushes fall on anchor + k * period ---
anchor = time.time() - 100.25
sid, r = establish(m, ds_sub("running", "/if:interfaces/if:interface[if:name='yp-a']",
                             f"<yp:periodic><yp:period>50</yp:period>"
                             f"<yp:anchor-time>{rfc3339(anchor)}</yp:anchor-time></yp:periodic>"))
assert sid, r.xml
pushes = [box.take(of("yp:push-update", sid), 5, "periodic push") for _ in range(4)]
for p in pushes:
    off = (etime(p) - anchor) % 0.5
    assert min(off, 0.5 - off) < 0.15, f"push at {etime(p)} is {off:.3f}s off the 0.5 s anchor grid"
    assert p.xpath("//yp:datastore-contents/if:interfaces/if:interface/if:name/text()", namespaces=N) == ["yp-a"], etree.tostring(p)
gaps = [etime(b) - etime(a) for a, b in zip(pushes, pushes[1:])]
assert all(0.3 < g < 0.8 for g in gaps), gaps
ok("periodic with anchor-time")

# modify the period: subscription-modified, then one push a second
assert_ok(rpc(m, "modify-subscription", f"<id>{sid}</id><yp:periodic><yp:period>100</yp:period></yp:periodic>"))
mod = box.take(of("sn:subscription-modified", sid), 5, "subscription-modified")
assert mod.xpath("//yp:periodic/yp:period/text()", namespaces=N) == ["100"], etree.tostring(mod)
box.drop(of("yp:push-update", sid))
p1 = box.take(of("yp:push-update", sid), 5)
p2 = box.take(of("yp:push-update", sid), 5)
assert 0.8 < etime(p2) - etime(p1) < 1.3, etime(p2) - etime(p1)
ok("modify period")

# modify the filter: the pushes now hold yp-b
assert_ok(rpc(m, "modify-subscription",
              f"<id>{sid}</id><yp:datastore xmlns:ds=\"{DS}\">ds:running</yp:datastore>"
              f"<yp:datastore-xpath-filter xmlns:if=\"{IF_NS}\">/if:interfaces/if:interface[if:name='yp-b']"
              f"</yp:datastore-xpath-filter>"))
box.take(of("sn:subscription-modified", sid), 5)
box.drop(of("yp:push-update", sid))
p = box.take(of("yp:push-update", sid), 5)
assert p.xpath("//if:interface/if:name/text()", namespaces=N) == ["yp-b"], etree.tostring(p)
ok("modify filter")

# delete: no more pushes
assert_ok(rpc(m, "delete-subscription", f"<id>{sid}</id>"))
box.drop(of("yp:push-update", sid))
box.none(of("yp:push-update", sid), 2.5)
check_error(rpc(m, "delete-subscription", f"<id>{sid}</id>"), "application", "invalid-value",
            app_tag="ietf-subscribed-notifications:no-such-subscription")
ok("delete")

# --- on-change with sync-on-start and dampening ---
sid, r = establish(m, ds_sub("running", "/if:interfaces/if:interface[if:name='yp-a']",
                             "<yp:on-change><yp:dampening-period>100</yp:dampening-period></yp:on-change>"))
assert sid, r.xml
sync = box.take(of("yp:push-update", sid), 5, "sync-on-start")
assert sync.xpath("//if:interface/if:description/text()", namespaces=N) == ["one"], etree.tostring(sync)
t0 = time.time()
for d in ["two", "three", "four"]:
    edit(other, lo("yp-a", d))
first = box.take(of("yp:push-change-update", sid), 5, "first change")
last = box.take(lambda el: of("yp:push-change-update", sid)(el) and
                el.xpath("//yp:value/if:description/text()", namespaces=N) == ["four"], 5, "coalesced change")
assert etime(last) - etime(first) >= 0.9, "the dampening period (1 s) separates two pushes"
edits = first.xpath("//yp:edit", namespaces=N)
assert edits and edits[0].xpath("yp:operation/text()", namespaces=N) == ["replace"], etree.tostring(first)
assert edits[0].xpath("yp:target/text()", namespaces=N) == ["/ietf-interfaces:interfaces/interface=yp-a/description"], etree.tostring(first)
box.none(of("yp:push-change-update", sid), 1.5)
ok("on-change with dampening and sync-on-start")

# resync: the whole selection again
assert_ok(rpc(m, "resync-subscription", f"<id>{sid}</id>", ns=YP))
rs = box.take(of("yp:push-update", sid), 5, "resync push-update")
assert rs.xpath("//if:interface/if:description/text()", namespaces=N) == ["four"], etree.tostring(rs)
ok("resync")

# kill from a second session: the receiver is told; alice may not kill
alice = connect("alice", "alice-pw")
check_error(rpc(alice, "kill-subscription", f"<id>{sid}</id>"), "protocol", "access-denied")
assert_ok(rpc(other, "kill-subscription", f"<id>{sid}</id>"))
term = box.take(of("sn:subscription-terminated", sid), 5, "subscription-terminated")
assert term.xpath("//sn:reason/text()", namespaces=N)[0].endswith("no-such-subscription"), etree.tostring(term)
check_error(rpc(m, "modify-subscription", f"<id>{sid}</id><stop-time>{rfc3339(time.time() + 60)}</stop-time>"),
            "application", "invalid-value", app_tag="ietf-subscribed-notifications:no-such-subscription")
ok("kill from a second session")

# --- excluded-change: deletions are not pushed ---
sid, r = establish(m, ds_sub("running", "/if:interfaces",
                             "<yp:on-change><yp:sync-on-start>false</yp:sync-on-start>"
                             "<yp:excluded-change>delete</yp:excluded-change></yp:on-change>"))
assert sid, r.xml
edit(other, lo("yp-x"))
c = box.take(of("yp:push-change-update", sid), 5, "create pushed")
assert c.xpath("//yp:edit/yp:operation/text()", namespaces=N) == ["create"], etree.tostring(c)
assert_ok(other.edit_config(target="running", config=ifaces(lo("yp-x").replace("<interface>", f'<interface xmlns:nc="{BASE}" nc:operation="delete">'))))
box.none(of("yp:push-change-update", sid), 1.5)
edit(other, lo("yp-y"))
c = box.take(of("yp:push-change-update", sid), 5, "later create pushed")
assert c.xpath("//yp:target/text()", namespaces=N) == ["/ietf-interfaces:interfaces/interface=yp-y"], etree.tostring(c)
assert not any(of("yp:push-update", sid)(e) for e in box.seen), "sync-on-start false sends no push-update"
ok("excluded-change")

# candidate and startup: on-change follows their edits
csid, r = establish(m, ds_sub("candidate", "/if:interfaces/if:interface[if:name='yp-c']", "<yp:on-change/>"))
assert csid, r.xml
ssid, r = establish(m, ds_sub("startup", "/if:interfaces/if:interface[if:name='yp-c']", "<yp:on-change/>"))
assert ssid, r.xml
box.take(of("yp:push-update", csid), 5, "candidate sync")
box.take(of("yp:push-update", ssid), 5, "startup sync")
assert_ok(other.edit_config(target="candidate", config=ifaces(lo("yp-c", "cand"))))
c = box.take(of("yp:push-change-update", csid), 5, "candidate change")
assert "yp-c" in etree.tostring(c).decode(), etree.tostring(c)
assert_ok(other.discard_changes())
c = box.take(of("yp:push-change-update", csid), 5, "candidate discarded")
assert c.xpath("//yp:edit/yp:operation/text()", namespaces=N) == ["delete"], etree.tostring(c)
assert_ok(other.copy_config(source="running", target="startup"))
box.none(of("yp:push-change-update", ssid), 1)
edit(other, lo("yp-c", "run"))
assert_ok(other.copy_config(source="running", target="startup"))
c = box.take(of("yp:push-change-update", ssid), 5, "startup change")
assert "yp-c" in etree.tostring(c).decode(), etree.tostring(c)
for s_ in (csid, ssid):
    assert_ok(rpc(m, "delete-subscription", f"<id>{s_}</id>"))
box.drop(of("yp:push-change-update", csid))
box.drop(of("yp:push-change-update", sid))
ok("candidate and startup")

# stop-time: the subscription ends by itself
assert_ok(rpc(m, "modify-subscription", f"<id>{sid}</id><stop-time>{rfc3339(time.time() + 1)}</stop-time>"))
box.take(of("sn:subscription-modified", sid), 5)
time.sleep(2)
edit(other, lo("yp-z"))
box.none(of("yp:push-change-update", sid), 1.5)
subs = data_of(m.get(filter=("subtree", f'<subscriptions xmlns="{SN}"/>')))
assert str(sid) not in subs.xpath("//sn:id/text()", namespaces=N), etree.tostring(subs)
ok("modify stop-time")

# --- the NETCONF stream: replay, filters ---
t_replay = T_START
sid, r = establish(m, f"<stream>NETCONF</stream><replay-start-time>{rfc3339(t_replay)}</replay-start-time>"
                      f'<stream-xpath-filter xmlns:ncn="{NCN}">/ncn:netconf-config-change</stream-xpath-filter>')
assert sid, r.xml
replayed = box.take(lambda el: el.xpath("/e:notification/ncn:netconf-config-change", namespaces=N)
                    and "yp-a" in etree.tostring(el).decode(), 5, "replayed config change")
box.take(of("sn:replay-completed", sid), 5, "replay-completed")
edit(other, lo("yp-s"))
box.take(lambda el: el.xpath("/e:notification/ncn:netconf-config-change", namespaces=N)
         and "yp-s" in etree.tostring(el).decode(), 5, "live config change")
connect().close_session()
box.none(lambda el: el.xpath("/e:notification/ncn:netconf-session-start", namespaces=N), 1.5)
assert_ok(rpc(m, "delete-subscription", f"<id>{sid}</id>"))
ok("stream with replay and an XPath filter")

# A replay longer than the subscription's queue (8 here) waits for the
# receiver instead of suspending the subscription.
box.none(lambda el: False, 0.5)
box.seen.clear()
sid, r = establish(m, f"<stream>NETCONF</stream><replay-start-time>{rfc3339(T_START)}</replay-start-time>")
assert sid, r.xml
box.take(of("sn:replay-completed", sid), 10, "replay-completed")
replayed = [e for e in box.seen if not e.xpath("/e:notification/sn:*", namespaces=N)]
assert len(replayed) > 8, f"only {len(replayed)} replayed"
assert not any(e.xpath("//sn:subscription-suspended", namespaces=N) for e in box.seen), "suspended during replay"
assert_ok(rpc(m, "delete-subscription", f"<id>{sid}</id>"))
ok("a long replay waits for the receiver")

box.none(lambda el: False, 0.5)
box.seen.clear()
sid, r = establish(m, f'<stream>NETCONF</stream><stream-subtree-filter><netconf-session-start xmlns="{NCN}"/></stream-subtree-filter>')
assert sid, r.xml
s2 = connect()
box.take(lambda el: el.xpath(f"/e:notification/ncn:netconf-session-start[ncn:session-id='{s2.session_id}']", namespaces=N), 5, "session-start")
edit(other, lo("yp-t"))
box.none(lambda el: el.xpath("/e:notification/ncn:netconf-config-change", namespaces=N), 1.5)
assert_ok(rpc(m, "delete-subscription", f"<id>{sid}</id>"))
ok("stream with a subtree filter")

named = (f'<config xmlns="{BASE}"><filters xmlns="{SN}"><stream-filter><name>changes</name>'
         f'<stream-xpath-filter xmlns:ncn="{NCN}">/ncn:netconf-config-change</stream-xpath-filter>'
         f'</stream-filter></filters></config>')
assert_ok(other.edit_config(target="running", config=named))
box.none(lambda el: False, 0.5)
box.seen.clear()
sid, r = establish(m, "<stream>NETCONF</stream><stream-filter-name>changes</stream-filter-name>")
assert sid, r.xml
edit(other, lo("yp-u"))
box.take(lambda el: "yp-u" in etree.tostring(el).decode(), 5, "named filter passes config changes")
connect().close_session()
box.none(lambda el: el.xpath("/e:notification/ncn:netconf-session-start", namespaces=N), 1.5)
assert_ok(rpc(m, "delete-subscription", f"<id>{sid}</id>"))
sid, r = establish(m, "<stream>NETCONF</stream><stream-filter-name>nope</stream-filter-name>")
check_error(r, "application", "invalid-value", app_tag="ietf-subscribed-notifications:filter-unavailable")
ok("named filter")

# --- NACM: alice's pushes leave out what she may not read ---
rules = (f'<config xmlns="{BASE}"><nacm xmlns="{ACM_NS}"><rule-list><name>yp</name><group>ops</group>'
         f'<rule><name>no-desc</name><path xmlns:if="{IF_NS}">/if:interfaces/if:interface/if:description</path>'
         f'<access-operations>read</access-operations><action>deny</action></rule>'
         f'<rule><name>read-if</name><path xmlns:if="{IF_NS}">/if:interfaces</path>'
         f'<access-operations>read</access-operations><action>permit</action></rule>'
         f'</rule-list></nacm></config>')
assert_ok(other.edit_config(target="running", config=rules))
abox = Inbox(alice)
asid, r = establish(alice, ds_sub("running", "/if:interfaces/if:interface[if:name='yp-b']", "<yp:on-change/>"))
assert asid, r.xml
sid, r = establish(m, ds_sub("running", "/if:interfaces/if:interface[if:name='yp-b']", "<yp:on-change/>"))
a_sync = abox.take(of("yp:push-update", asid), 5, "alice's sync")
m_sync = box.take(of("yp:push-update", sid), 5, "admin's sync")
assert a_sync.xpath("//if:interface/if:name/text()", namespaces=N) == ["yp-b"], etree.tostring(a_sync)
assert not a_sync.xpath("//if:description", namespaces=N), etree.tostring(a_sync)
assert m_sync.xpath("//if:description/text()", namespaces=N) == ["b1"], etree.tostring(m_sync)
edit(other, lo("yp-b", "b2"))
box.take(of("yp:push-change-update", sid), 5, "admin sees the description change")
abox.none(of("yp:push-change-update", asid), 1.5)
ok("NACM filters pushes")

# --- errors ---
_, r = establish(m, ds_sub("operational", None, "<yp:periodic><yp:period>0</yp:period></yp:periodic>"))
check_error(r, "application", "invalid-value", app_tag="ietf-yang-push:period-unsupported")
# RFC 8641: the reason and the hint in establish-subscription-datastore-error-info
ei = xml_of(r).xpath("//nc:error-info/yp:establish-subscription-datastore-error-info",
                     namespaces={**N, "nc": BASE})
assert ei and ei[0].xpath("yp:period-hint/text()", namespaces=N) == ["1"], r.xml
reason = ei[0].xpath("yp:reason", namespaces=N)[0]
pfx, local = reason.text.split(":")
assert local == "period-unsupported" and reason.nsmap.get(pfx) == YP, r.xml
_, r = establish(m, "<stream>NETCONF</stream><encoding>encode-json</encoding>")
check_error(r, "application", "invalid-value", app_tag="ietf-subscribed-notifications:encoding-unsupported")
_, r = establish(m, "<stream>nope</stream>")
assert errors_of(r), r.xml
_, r = establish(m, ds_sub("running", None, ""))
assert errors_of(r), r.xml
_, r = establish(m, '<stream>NETCONF</stream><stream-xpath-filter>/no-such:thing</stream-xpath-filter>')
check_error(r, "application", "invalid-value", app_tag="ietf-subscribed-notifications:filter-unsupported")
hint = xml_of(r).xpath("//sn:establish-subscription-stream-error-info/sn:filter-failure-hint/text()", namespaces=N)
assert hint and hint[0], r.xml
check_error(rpc(alice, "delete-subscription", f"<id>{sid}</id>"), "application", "invalid-value",
            app_tag="ietf-subscribed-notifications:no-such-subscription")
ok("errors")

# --- limits: at most max_per_session (4 here); establish/delete repeated leaks nothing ---
for s in [sid]:
    assert_ok(rpc(m, "delete-subscription", f"<id>{s}</id>"))
held = []
for i in range(4):
    s, r = establish(m, "<stream>NETCONF</stream>")
    assert s, r.xml
    held.append(s)
_, r = establish(m, "<stream>NETCONF</stream>")
check_error(r, "application", "resource-denied", app_tag="ietf-subscribed-notifications:insufficient-resources")
for s in held:
    assert_ok(rpc(m, "delete-subscription", f"<id>{s}</id>"))
for i in range(200):
    s, r = establish(m, ds_sub("running", "/if:interfaces", "<yp:on-change/>"))
    assert s, r.xml
    assert_ok(rpc(m, "delete-subscription", f"<id>{s}</id>"))
subs = data_of(other.get(filter=("subtree", f'<subscriptions xmlns="{SN}"/>')))
left = [x for x in subs.xpath("//sn:receiver/sn:name/text()", namespaces=N) if x == f"netconf-session-{m.session_id}"]
assert not left, etree.tostring(subs)
ok("limits")

# /subscriptions and /streams
subs = data_of(other.get(filter=("subtree", f'<subscriptions xmlns="{SN}"/>')))
mine = subs.xpath(f"//sn:subscription[sn:id='{asid}']", namespaces=N)
assert mine and mine[0].xpath("sn:receivers/sn:receiver/sn:state/text()", namespaces=N) == ["active"], etree.tostring(subs)
assert int(mine[0].xpath("sn:receivers/sn:receiver/sn:sent-event-records/text()", namespaces=N)[0]) >= 1
st = data_of(other.get(filter=("subtree", f'<streams xmlns="{SN}"/>')))
assert st.xpath("//sn:stream/sn:name/text()", namespaces=N) == ["NETCONF"], etree.tostring(st)
assert st.xpath("//sn:stream/sn:replay-support", namespaces=N), etree.tostring(st)
ok("subscriptions and streams state")

# --- a slow receiver is suspended, then resumed (raw session that stops reading) ---
raw = Raw()
raw.rpc(f'<rpc message-id="1" xmlns="{BASE}"><establish-subscription xmlns="{SN}" xmlns:yp="{YP}" xmlns:ds="{DS}">'
        f'<yp:datastore>ds:operational</yp:datastore><yp:periodic><yp:period>1</yp:period></yp:periodic>'
        f'</establish-subscription></rpc>')
time.sleep(8)
msgs = []
deadline = time.time() + 60
resumed = False
while time.time() < deadline and not resumed:
    x = raw.read()
    msgs.append(x)
    resumed = "subscription-resumed" in x
suspended = [x for x in msgs if "subscription-suspended" in x]
assert suspended, f"{len(msgs)} messages, no suspension"
assert "insufficient-resources" in suspended[0], suspended[0]
assert resumed, f"{len(msgs)} messages, suspended but never resumed"
VALIDATED.append(suspended[0])
VALIDATED.append(msgs[-1])
raw.close()
ok("slow receiver suspended and resumed")

# --- every notification received validates against the schemas ---
feats = ["-F", "ietf-subscribed-notifications:encode-xml,encode-json,replay,subtree,xpath",
         "-F", "ietf-yang-push:on-change"]
schemas = [os.path.join(MODELS, f) for f in
           ["ietf-subscribed-notifications.yang", "ietf-yang-push.yang",
            "ietf-netconf-notifications.yang", "ietf-interfaces.yang", "iana-if-type.yang",
            "ietf-datastores.yang"]]
kinds = set()
with tempfile.TemporaryDirectory() as d:
    for i, text in enumerate(VALIDATED):
        el = etree.fromstring(text.encode())
        body = [c for c in el if etree.QName(c).localname != "eventTime"][0]
        kind = etree.QName(body).localname
        if etree.QName(body).namespace not in (SN, YP) or kind in kinds and kind in ("push-update", "push-change-update") and i % 5:
            continue
        kinds.add(kind)
        f = os.path.join(d, f"n{i}.xml")
        with open(f, "w") as fh:
            fh.write(text)
        out = subprocess.run(["yanglint", "-t", "nc-notif", "-p", MODELS, *feats, *schemas, f],
                             capture_output=True, text=True)
        assert out.returncode == 0, f"yanglint: {out.stderr}\n{text[:2000]}"
for k in ["push-update", "push-change-update", "subscription-modified", "subscription-terminated",
          "replay-completed", "subscription-suspended", "subscription-resumed"]:
    assert k in kinds, f"no {k} validated ({sorted(kinds)})"
ok("yanglint validates the notifications")
