"""Shared helpers of the NETCONF interop scripts: ncclient connections to
the server under test, a raw SSH subsystem session (paramiko) for
hand-made messages, and field-by-field checks of RFC 6241 rpc-error."""

import sys
import time

import paramiko
from lxml import etree
from ncclient import manager
from ncclient.operations import RaiseMode

HOST = sys.argv[1]
PORT = int(sys.argv[2])
BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
NS = {"nc": BASE}
IF_NS = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IP_NS = "urn:ietf:params:xml:ns:yang:ietf-ip"
ACM_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
IANA_NS = "urn:ietf:params:xml:ns:yang:iana-if-type"


def connect(user="admin", password="admin-pw", **kw):
    m = manager.connect(
        host=HOST,
        port=PORT,
        username=user,
        password=password,
        hostkey_verify=False,
        allow_agent=False,
        look_for_keys=False,
        timeout=60,
        **kw,
    )
    m.raise_mode = RaiseMode.NONE
    return m


def ok(name):
    print("OK", name, flush=True)


def iface(name, extra="", op=None):
    attr = f' xmlns:nc="{BASE}" nc:operation="{op}"' if op else ""
    return (
        f'<interface{attr}><name>{name}</name>'
        f'<type xmlns:ianaift="{IANA_NS}">ianaift:ethernetCsmacd</type>{extra}</interface>'
    )


def ifaces(*entries, op=None):
    attr = f' xmlns:nc="{BASE}" nc:operation="{op}"' if op else ""
    return f'<config xmlns="{BASE}"><interfaces xmlns="{IF_NS}"{attr}>{"".join(entries)}</interfaces></config>'


def xml_of(reply):
    return etree.fromstring(reply.xml.encode())


def errors_of(reply):
    root = xml_of(reply)
    return root.findall("nc:rpc-error", NS)


def check_error(reply, etype, tag, *, app_tag=None, path=None, message=True,
                info=None, count=1):
    """Asserts the reply holds `count` rpc-errors and that the first has
    exactly these fields (RFC 6241 Appendix A)."""
    errs = errors_of(reply)
    assert len(errs) == count, f"expected {count} rpc-error, got:\n{reply.xml}"
    e = errs[0]
    def text(tagname):
        el = e.find(f"nc:{tagname}", NS)
        return None if el is None else el.text
    assert text("error-type") == etype, reply.xml
    assert text("error-tag") == tag, reply.xml
    assert text("error-severity") == "error", reply.xml
    if app_tag is not None:
        assert text("error-app-tag") == app_tag, reply.xml
    if path is not None:
        p = e.find("nc:error-path", NS)
        assert p is not None, reply.xml
        if callable(path):
            assert path(p), reply.xml
        else:
            assert p.text == path, f"error-path {p.text!r} != {path!r}\n{reply.xml}"
    if message:
        msg = e.find("nc:error-message", NS)
        assert msg is not None and msg.text, reply.xml
        assert msg.get("{http://www.w3.org/XML/1998/namespace}lang") == "en", reply.xml
    if info is not None:
        ei = e.find("nc:error-info", NS)
        assert ei is not None, reply.xml
        got = {etree.QName(c).localname: c.text for c in ei}
        for k, v in info.items():
            assert got.get(k) == v, f"error-info {k}: {got.get(k)!r} != {v!r}\n{reply.xml}"
    return errs


def assert_ok(reply):
    assert reply.ok and "<ok/>" in reply.xml.replace(" ", "") or reply.xml.find("ok") >= 0, reply.xml
    root = xml_of(reply)
    assert root.find("nc:ok", NS) is not None, reply.xml


class Raw:
    """A NETCONF session over a raw SSH subsystem channel: messages are
    written and read as the test composes them."""

    def __init__(self, user="admin", password="admin-pw", hello=True, base11=True):
        self.t = paramiko.Transport((HOST, PORT))
        self.t.connect(username=user, password=password)
        self.ch = self.t.open_session()
        self.ch.invoke_subsystem("netconf")
        self.ch.settimeout(30)
        self.buf = b""
        self.chunked = False
        self.server_hello = self.read_eom()
        if hello:
            caps = "<capability>urn:ietf:params:netconf:base:1.0</capability>"
            if base11:
                caps += "<capability>urn:ietf:params:netconf:base:1.1</capability>"
            self.send_eom(f'<hello xmlns="{BASE}"><capabilities>{caps}</capabilities></hello>')
            self.chunked = base11

    def send_eom(self, text):
        self.ch.sendall(text.encode() + b"]]>]]>")

    def send(self, text):
        data = text.encode()
        if self.chunked:
            self.ch.sendall(b"\n#%d\n" % len(data) + data + b"\n##\n")
        else:
            self.ch.sendall(data + b"]]>]]>")

    def _fill(self):
        d = self.ch.recv(65536)
        if not d:
            raise EOFError("channel closed")
        self.buf += d

    def read_eom(self):
        while b"]]>]]>" not in self.buf:
            self._fill()
        msg, self.buf = self.buf.split(b"]]>]]>", 1)
        return msg.decode()

    def read(self):
        if not self.chunked:
            return self.read_eom()
        out = b""
        while True:
            while len(self.buf) < 4 or b"\n" not in self.buf[2:]:
                self._fill()
            assert self.buf.startswith(b"\n#"), self.buf[:20]
            if self.buf.startswith(b"\n##\n"):
                self.buf = self.buf[4:]
                return out.decode()
            end = self.buf.index(b"\n", 2)
            size = int(self.buf[2:end])
            self.buf = self.buf[end + 1:]
            while len(self.buf) < size:
                self._fill()
            out += self.buf[:size]
            self.buf = self.buf[size:]

    def rpc(self, text):
        self.send(text)
        return self.read()

    def closed(self, timeout=10):
        """True once the server closed the channel."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                d = self.ch.recv(65536)
            except Exception:
                return True
            if not d:
                return True
        return False

    def close(self):
        try:
            self.t.close()
        except Exception:
            pass


class Reply:
    """A raw reply with the interface of ncclient's (xml, ok)."""

    def __init__(self, xml):
        self.xml = xml
        self.ok = "<ok/>" in xml


def data_of(reply):
    """The <data> element of a reply (also for dispatched RPCs)."""
    d = xml_of(reply).find("nc:data", NS)
    assert d is not None, reply.xml
    return d
