"""Configures nectar's vswitch through OpenConfig only, with pygnmi (one gNMI
Set, JSON_IETF), then reads the learned MACs back with a gNMI Get.

Usage: oc_vlan.py set HOST PORT USER PASSWORD
       oc_vlan.py get HOST PORT USER PASSWORD

set: VLAN 10 in the DEFAULT network instance; eth0 and eth1 ACCESS ports of
     VLAN 10; irb10 (l3ipvlan) the routed-vlan of VLAN 10 with 10.10.0.1/24;
     eth2 a routed port with 10.3.0.1/24. Prints "ok set".
get: prints one line "mac <source> <mac> <interface>" per MAC table entry of
     VLAN 10, from the OpenConfig DEFAULT instance's fdb (source "oc") and the
     nectar-bridge domain vlan10 (source "nectar"), then "ok get".
"""

import sys

from pygnmi.client import gNMIclient


def eth(name, mode_cfg):
    return {
        "name": name,
        "config": {"name": name, "type": "iana-if-type:ethernetCsmacd"},
        "openconfig-if-ethernet:ethernet": {
            "openconfig-vlan:switched-vlan": {"config": mode_cfg}
        },
    }


def addr(ip, plen):
    return {"addresses": {"address": [
        {"ip": ip, "config": {"ip": ip, "prefix-length": plen}}]}}


INTERFACES = {"interface": [
    eth("eth0", {"interface-mode": "ACCESS", "access-vlan": 10}),
    eth("eth1", {"interface-mode": "ACCESS", "access-vlan": 10}),
    {
        "name": "eth2",
        "config": {"name": "eth2", "type": "iana-if-type:ethernetCsmacd"},
        "subinterfaces": {"subinterface": [{
            "index": 0, "config": {"index": 0},
            "openconfig-if-ip:ipv4": addr("10.3.0.1", 24)}]},
    },
    {
        "name": "irb10",
        "config": {"name": "irb10", "type": "iana-if-type:l3ipvlan"},
        "openconfig-vlan:routed-vlan": {
            "config": {"vlan": 10},
            "openconfig-if-ip:ipv4": addr("10.10.0.1", 24),
        },
    },
]}

INSTANCES = {"network-instance": [{
    "name": "DEFAULT",
    "config": {"name": "DEFAULT",
               "type": "openconfig-network-instance-types:DEFAULT_INSTANCE"},
    "vlans": {"vlan": [{"vlan-id": 10, "config": {"vlan-id": 10, "name": "lab"}}]},
}]}


def vals(g):
    return [u["val"] for n in g["notification"] for u in n.get("update", [])]


def main():
    cmd, host, port, user, password = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    with gNMIclient(target=(host, port), username=user, password=password,
                    insecure=True, gnmi_timeout=10) as gc:
        if cmd == "set":
            r = gc.set(update=[
                ("openconfig-interfaces:interfaces", INTERFACES),
                ("openconfig-network-instance:network-instances", INSTANCES),
            ], encoding="json_ietf")
            assert all(x["op"] == "UPDATE" for x in r["response"]), r
            print("ok set", flush=True)
        elif cmd == "get":
            g = gc.get(path=["openconfig-network-instance:network-instances/"
                             "network-instance[name=DEFAULT]/fdb/mac-table"],
                       datatype="state", encoding="json_ietf")
            for v in vals(g):
                table = v.get("openconfig-network-instance:mac-table", v.get("mac-table", v))
                for e in table.get("entries", {}).get("entry", []):
                    assert e["vlan"] == 10, e
                    ref = e["interface"]["interface-ref"]["state"]
                    print("mac oc", e["mac-address"], ref["interface"],
                          e["state"]["entry-type"], flush=True)
            g = gc.get(path=["nectar-bridge:bridge-domains/bridge-domain[name=vlan10]/mac-table"],
                       datatype="state", encoding="json_ietf")
            for v in vals(g):
                table = v.get("nectar-bridge:mac-table", v.get("mac-table", v))
                for e in table.get("entry", []):
                    print("mac nectar", e["mac-address"], e["interface"], e["type"], flush=True)
            print("ok get", flush=True)
        else:
            raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
