"""gNMI interop with cisco-gnmi 1.0.16 (protobuf 3.20, an older generated
gNMI) against a running nectar daemon over TLS.

Usage: cisco_gnmi_interop.py HOST:PORT USER PASSWORD ROOT_CERT

This client's habits: scalar TypedValues on Set (string_val), XPath keys in
quotes (`[name="eth0"]`), and a request stream that ends right after the
SubscriptionList. Prints one "ok <check>" line per check.
"""

import json
import sys
import time

from cisco_gnmi import ClientBuilder
from cisco_gnmi.proto import gnmi_pb2

IF = '/ietf-interfaces:interfaces/interface[name="eth0"]'


def log(msg):
    print(msg, flush=True)


def main():
    target, user, password, cert = sys.argv[1:5]
    client = (
        ClientBuilder(target)
        .set_os()
        .set_secure_from_file(root_certificates=cert)
        .set_ssl_target_override("localhost")
        .set_call_authentication(user, password)
        .construct()
    )

    caps = client.capabilities()
    assert caps.gNMI_version == "0.10.0", caps.gNMI_version
    assert any(m.name == "ietf-interfaces" for m in caps.supported_models)
    log("ok capabilities")

    # Create the interface with JSON, then set a leaf with a scalar value.
    entry = gnmi_pb2.Update(
        path=client.parse_xpath_to_gnmi_path(IF),
        val=gnmi_pb2.TypedValue(json_ietf_val=json.dumps(
            {"type": "iana-if-type:ethernetCsmacd"}).encode()),
    )
    desc = gnmi_pb2.Update(
        path=client.parse_xpath_to_gnmi_path(IF + "/description"),
        val=gnmi_pb2.TypedValue(string_val="from cisco-gnmi"),
    )
    client.set(updates=[entry, desc])
    log("ok set-scalar")

    r = client.get([client.parse_xpath_to_gnmi_path(IF + "/description")],
                   encoding="JSON_IETF")
    got = json.loads(r.notification[0].update[0].val.json_ietf_val)
    assert got == "from cisco-gnmi", got
    r = client.get([client.parse_xpath_to_gnmi_path(IF + "/enabled")], encoding="PROTO")
    assert r.notification[0].update[0].val.WhichOneof("value") == "bool_val", r
    log("ok get-quoted-keys")

    # The request iterator ends after the SubscriptionList: the STREAM must go on.
    stream = client.subscribe_xpaths(
        [IF + "/description"], request_mode="STREAM", sub_mode="ON_CHANGE",
        encoding="JSON_IETF")
    synced = False
    for resp in stream:
        if resp.HasField("sync_response"):
            synced = True
            break
    assert synced
    time.sleep(0.3)
    client.set(updates=[gnmi_pb2.Update(
        path=client.parse_xpath_to_gnmi_path(IF + "/description"),
        val=gnmi_pb2.TypedValue(string_val="changed after half-close"))])
    for resp in stream:
        if resp.HasField("update"):
            vals = [json.loads(u.val.json_ietf_val) for u in resp.update.update]
            if "changed after half-close" in vals:
                break
    log("ok stream-after-half-close")
    stream.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
