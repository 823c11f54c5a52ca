"""On-change YANG-Push of the operational datastore: the oper-status of a
port whose host interface loses its carrier is pushed (push-change-update)
from the dataplane's event, not polled. Prints "ready" once subscribed, then
"ok oper-status down <ms>" when the change arrives.

Usage: yp_oper.py HOST PORT PASSWORD"""

import sys
import time

from lxml import etree
from ncclient import manager
from ncclient.xml_ import to_ele

HOST, PORT, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SN = "urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications"
YP = "urn:ietf:params:xml:ns:yang:ietf-yang-push"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
N = {"yp": YP, "if": IF}

m = manager.connect(host=HOST, port=PORT, username="admin", password=PASSWORD, hostkey_verify=False,
                    allow_agent=False, look_for_keys=False, timeout=30)
# The port must be configured (admin up) to be operationally up.
cfg = (f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><interfaces xmlns="{IF}"><interface>'
       f'<name>eth0</name><type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">'
       f'ianaift:ethernetCsmacd</type></interface></interfaces></config>')
assert "<ok/>" in m.edit_config(target="running", config=cfg).xml
r = m.dispatch(to_ele(
    f'<establish-subscription xmlns="{SN}" xmlns:yp="{YP}" '
    f'xmlns:ds="urn:ietf:params:xml:ns:yang:ietf-datastores">'
    f'<yp:datastore>ds:operational</yp:datastore>'
    f'<yp:datastore-xpath-filter xmlns:if="{IF}">/if:interfaces/if:interface[if:name=\'eth0\']/if:oper-status'
    f'</yp:datastore-xpath-filter><yp:on-change/></establish-subscription>'))
assert "<id" in r.xml, r.xml


def next_notification(timeout):
    n = m.take_notification(block=True, timeout=timeout)
    return None if n is None else etree.fromstring(n.notification_xml.encode())


# The sync push-update, then changes until eth0 is up (the carrier comes
# up after the configuration: a change pushed from the link event).
deadline = time.time() + 30
up = False
while not up and time.time() < deadline:
    el = next_notification(1)
    if el is None:
        continue
    up = el.xpath("//yp:push-update//if:oper-status/text()", namespaces=N) == ["up"] or \
        el.xpath("//yp:edit/yp:value/if:oper-status/text()", namespaces=N) == ["up"]
assert up, "eth0 never up"
print("ready", flush=True)
t0 = time.time()
deadline = t0 + 20
while time.time() < deadline:
    el = next_notification(1)
    if el is None or not el.xpath("//yp:push-change-update", namespaces=N):
        continue
    text = etree.tostring(el).decode()
    values = el.xpath("//yp:edit[yp:target='/ietf-interfaces:interfaces/interface=eth0/oper-status']"
                      "/yp:value/if:oper-status/text()", namespaces=N)
    if values == ["down"]:
        print(f"ok oper-status down {1000 * (time.time() - t0):.0f} ms", flush=True)
        sys.exit(0)
    print("other change:", text, flush=True)
print("no oper-status down within 20 s", flush=True)
sys.exit(1)
