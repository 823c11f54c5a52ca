"""NETCONF and gNMI against the nectar container, as an operator would from the host:
ncclient's <hello> exchange with a password login, pygnmi Capabilities over TLS with the
container's certificate as the root. Prints "ok <check>" lines; exits non-zero on failure.

usage: clients.py HOST NETCONF_PORT GNMI_PORT USER PASSWORD ROOT_CERT
"""

import sys

from ncclient import manager
from pygnmi.client import gNMIclient


def main():
    host, nc_port, gnmi_port, user, password, cert = sys.argv[1:7]
    with manager.connect(
        host=host,
        port=int(nc_port),
        username=user,
        password=password,
        hostkey_verify=False,
        allow_agent=False,
        look_for_keys=False,
        timeout=30,
    ) as m:
        caps = list(m.server_capabilities)
        assert "urn:ietf:params:netconf:base:1.1" in caps, caps
        assert m.session_id, "no session-id in the server's hello"
        print("ok netconf-hello", flush=True)

    with gNMIclient(
        target=(host, int(gnmi_port)),
        username=user,
        password=password,
        path_cert=cert,
        gnmi_timeout=15,
    ) as gc:
        caps = gc.capabilities()
        assert caps["gnmi_version"] == "0.10.0", caps
        names = {m["name"] for m in caps["supported_models"]}
        assert "openconfig-interfaces" in names, names
        print("ok gnmi-capabilities", flush=True)


if __name__ == "__main__":
    main()
