"""Cisco knowledge as data: units, trust stores, multi-server, restarts, the HA rule, risks.

Every fact cites its source in `shared/domain/cisco-uc-certs.md` (section, and the source's
short name from its §0). Facts tagged INFERRED there are tagged INFERRED here too. Where the
sources disagree the catalog takes the safe superset (the certificate surely takes effect) and
says so in `note`.

The lab (`ucterm/lab/`) builds its simulated appliances from this module, and the client side
plans against it: both read the same facts, but neither reads the other's code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Product = Literal["cucm", "imp", "cuc"]
PRODUCTS: tuple[Product, ...] = ("cucm", "imp", "cuc")
PRODUCT_NAMES: dict[str, str] = {
    "cucm": "Unified CM",
    "imp": "IM and Presence",
    "cuc": "Unity Connection",
}

#: Default ports (design.md §3). `rest` is the certmgr REST API port (§4.1: netSSL uses 443).
DEFAULT_PORTS: dict[str, int] = {
    "ssh": 22,
    "https": 8443,
    "rest": 443,
    "sip_tls": 5061,
    "xmpp_c2s": 5222,
    "xmpp_s2s": 5269,
}

#: §5.4 [VERIFIED: S-ADM125SU3] "Max 4096-bit keys".
MAX_RSA_BITS = 4096
#: Below this an RSA key is a warning (`weak-key`); 2048 is the platform default [INFERRED §1.3].
WEAK_RSA_BITS = 2048
#: §5.5: CallManager keys above 2048 bits are not supported by some phones [VERIFIED: S-ADM125SU3].
CALLMANAGER_PHONE_SAFE_RSA_BITS = 2048


# --------------------------------------------------------------------------------------------
# Versions


@dataclass(frozen=True, order=True)
class Version:
    """A VOS release: `14.0.1.13900-155` is 14.0 SU3.

    The SU number is read from the build field (10000 = base, 11900 = SU1, 12900 = SU2, …),
    which is how Cisco numbers its service updates [INFERRED from the release numbering].
    """

    major: int
    minor: int
    su: int = 0
    text: str = field(default="", compare=False)

    def at_least(self, major: int, minor: int = 0, su: int = 0) -> bool:
        return (self.major, self.minor, self.su) >= (major, minor, su)

    @property
    def label(self) -> str:
        base = f"{self.major}" if self.minor == 0 else f"{self.major}.{self.minor}"
        return f"{base}SU{self.su}" if self.su else base

    def __str__(self) -> str:
        return self.text or self.label


_VERSION_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-(\d+))?\s*$")


def parse_version(text: str | None) -> Version | None:
    """Parse `14.0.1.13900-155` (or `12.5`, `15`) into a :class:`Version`; None when absent or odd."""
    if not text:
        return None
    m = _VERSION_RE.match(text)
    if not m:
        m2 = re.match(r"^\s*(\d+)\s*$", text)
        return Version(int(m2.group(1)), 0, 0, text.strip()) if m2 else None
    major, minor = int(m.group(1)), int(m.group(2))
    build = int(m.group(4)) if m.group(4) else 0
    su = max(0, (build - 10000) // 1000) if build >= 11000 else 0
    return Version(major, minor, su, text.strip())


def rest_api_available(version: Version | None) -> bool:
    """certmgr REST exists on v14 and later only. §4.1 [VERIFIED: S-DEVNET-CM]."""
    return version is not None and version.at_least(14)


def cli_accepts_multi_san_upload(version: Version | None) -> bool:
    """14SU2+ refuses multi-SAN uploads over the CLI. §1.7 [VERIFIED: S-SEC14SU2]."""
    return not (version is not None and version.at_least(14, 0, 2))


def csr_gen_asks_ou(version: Version | None) -> bool:
    """14SU1+ asks `Include OU in CSR (yes|no)?`. §1.3 [VERIFIED: C-certgen, S-SEC14SU2]."""
    return version is not None and version.at_least(14, 0, 1)


def csr_carries_ou(channel: str, version: Version | None) -> bool | None:
    """Whether a CSR made over `channel` ("cli" or "rest") on `version` carries the OU whatever is asked,
    or None where the choice is honoured (`set csr gen` asks `Include OU in CSR (yes|no)?`).

    The OU comes from `show web-security`. `set csr gen` before 14SU1 asks nothing and puts it in
    (§1.3 [VERIFIED: the question is new in 14SU1; OU left out by default from then, S-SEC14SU2]).
    The certmgr CSR body has no OU field, so VOS's default applies: left out from 14SU1, in before
    [INFERRED from the same default]. An unknown release: the CLI may ask, so the choice is offered.
    """
    if channel == "cli":
        return None if version is None or csr_gen_asks_ou(version) else True
    return not csr_gen_asks_ou(version)


def cli_generates_multi_server_csr() -> bool:
    """`set csr gen <unit>` takes no distribution, SAN, key or hash argument, so the CLI cannot make a
    multi-server CSR: that takes the GUI or certmgr REST (v14+).

    §1.3 [VERIFIED as absence: S-CLI125-SET; the consequence is INFERRED there].
    """
    return False


def identity_upload_needs_rest(version: Version | None, multi_server: bool) -> bool:
    """A multi-SAN identity upload on 14SU2+ must avoid the CLI (§1.7 [VERIFIED: S-SEC14SU2]); certmgr
    REST is the programmatic alternative to the GUI (§4.1, whether it accepts it is [INFERRED])."""
    return multi_server and not cli_accepts_multi_san_upload(version)


#: certmgr `distribution` values: `this-server` [VERIFIED: C-netSSL, §4.1]; `multi-server` [INFERRED §4.1].
REST_DISTRIBUTION: dict[bool, str] = {False: "this-server", True: "multi-server"}

#: §1.9 [VERIFIED: C-netSSL]: Tomcat restarts take minutes, Unity Connection is very slow; netSSL waits 600 s.
RESTART_TIMEOUT_S = 600.0

#: §1.10 [VERIFIED: IM&P docs/TAC samples]: `utils ha status` shows `State: Normal` on every node when HA is
#: healthy, and `Reason: High Availability Not Enabled` when it is off.


# --------------------------------------------------------------------------------------------
# Units


@dataclass(frozen=True)
class UnitSpec:
    """One certificate unit ("Certificate Purpose") and what it requires."""

    name: str
    trust_store: str
    products: frozenset[str]
    purpose: str
    key_algorithm: Literal["RSA", "EC"]
    eku_required: frozenset[str]
    key_usage_required: frozenset[str]
    #: Ports (names as in DEFAULT_PORTS) whose TLS endpoint presents this unit's certificate.
    served_on: tuple[str, ...]
    source: str
    #: §5.5 high-risk units (phones, ITL/CTL).
    high_risk: bool = False

    @property
    def is_ecdsa(self) -> bool:
        return self.key_algorithm == "EC"


_SERVER_CLIENT = frozenset({"serverAuth", "clientAuth"})
_KU_RSA = frozenset({"digital_signature", "key_encipherment", "data_encipherment"})
_KU_EC = frozenset({"digital_signature"})  # [INFERRED]: EC keys cannot encipher keys.

_UNITS: list[UnitSpec] = [
    UnitSpec("tomcat", "tomcat-trust", frozenset({"cucm", "imp", "cuc"}),
             "Web GUIs, UDS, AXL, SSO, Jabber HTTPS (8443)", "RSA", _SERVER_CLIENT, _KU_RSA,
             ("https", "rest"), "§2.1/§2.2/§2.3, EKU §5.1 [VERIFIED: S-ADM125SU3, S-CUC15]; KU [INFERRED]"),
    UnitSpec("tomcat-ECDSA", "tomcat-trust", frozenset({"cucm", "imp", "cuc"}),
             "EC web certificate", "EC", _SERVER_CLIENT, _KU_EC, (),
             "§2.1 [VERIFIED: S-SEC14SU2]; KU [INFERRED]"),
    UnitSpec("CallManager", "CallManager-trust", frozenset({"cucm"}),
             "SIP/SCCP TLS, phone signalling", "RSA", _SERVER_CLIENT,
             _KU_RSA | {"key_agreement"}, ("sip_tls",),
             "§2.1, §5.1 [VERIFIED: S-ADM125SU3]", high_risk=True),
    UnitSpec("CallManager-ECDSA", "CallManager-trust", frozenset({"cucm"}),
             "EC SIP TLS", "EC", _SERVER_CLIENT, _KU_EC | {"key_agreement"}, (),
             "§2.1, §5.1 [VERIFIED: S-ADM125SU3]", high_risk=True),
    UnitSpec("CAPF", "CAPF-trust", frozenset({"cucm"}),
             "Issues LSCs to phones", "RSA", frozenset({"serverAuth"}),
             frozenset({"digital_signature", "key_cert_sign"}), (),
             "§2.1, §5.1 [VERIFIED: S-ADM125SU3]", high_risk=True),
    UnitSpec("TVS", "TVS-trust", frozenset({"cucm"}),
             "Trust Verification Service", "RSA", _SERVER_CLIENT, _KU_RSA, (),
             "§2.1, §5.1 [VERIFIED: S-ADM125SU3]; KU [INFERRED]", high_risk=True),
    UnitSpec("ipsec", "ipsec-trust", frozenset({"cucm", "imp", "cuc"}),
             "IPsec / DRS", "RSA", _SERVER_CLIENT, _KU_RSA, (),
             "§2.1/§2.2/§2.3, EKU §5.1 [VERIFIED: S-ADM125SU3]; KU [INFERRED]"),
    UnitSpec("ITLRecovery", "ITLRecovery-trust", frozenset({"cucm"}),
             "Signs the ITL file (12.0+)", "RSA", _SERVER_CLIENT, _KU_RSA, (),
             "§2.1 [VERIFIED: S-214231]; trust store name and EKU [INFERRED]", high_risk=True),
    UnitSpec("cup", "cup-trust", frozenset({"imp"}),
             "SIP Proxy, Presence Engine (SIP federation, SIP trunk TLS)", "RSA", _SERVER_CLIENT,
             _KU_RSA, ("sip_tls",), "§2.2 [VERIFIED: S-IMP125SU2, S-OSADM91]; EKU §5.1 [VERIFIED]"),
    UnitSpec("cup-ECDSA", "cup-trust", frozenset({"imp"}),
             "EC SIP Proxy certificate", "EC", _SERVER_CLIENT, _KU_EC, (),
             "§2.2 [VERIFIED: S-IMP125SU2]"),
    UnitSpec("cup-xmpp", "cup-xmpp-trust", frozenset({"imp"}),
             "XCP Connection Manager (client XMPP 5222, BOSH)", "RSA", _SERVER_CLIENT, _KU_RSA,
             ("xmpp_c2s",), "§2.2 [VERIFIED: S-IMP125SU2, S-OSADM91]; EKU §5.1 [VERIFIED]"),
    UnitSpec("cup-xmpp-ECDSA", "cup-xmpp-trust", frozenset({"imp"}),
             "EC XMPP client certificate", "EC", _SERVER_CLIENT, _KU_EC, (),
             "§2.2 [VERIFIED: S-IMP125SU2]"),
    UnitSpec("cup-xmpp-s2s", "cup-xmpp-trust", frozenset({"imp"}),
             "XCP XMPP Federation Connection Manager (5269)", "RSA", _SERVER_CLIENT, _KU_RSA,
             ("xmpp_s2s",), "§2.2 [VERIFIED: S-IMP125SU2, S-OSADM91]; EKU §5.1 [VERIFIED]"),
    UnitSpec("cup-xmpp-s2s-ECDSA", "cup-xmpp-trust", frozenset({"imp"}),
             "EC XMPP federation certificate", "EC", _SERVER_CLIENT, _KU_EC, (),
             "§2.2 [VERIFIED: S-IMP125SU2]"),
]

UNITS: dict[str, UnitSpec] = {u.name: u for u in _UNITS}
_UNITS_LOWER: dict[str, UnitSpec] = {u.name.lower(): u for u in _UNITS}

#: Trust stores that hold CA certificates but belong to no identity unit (§2.1).
EXTRA_TRUST_STORES: dict[str, tuple[str, ...]] = {
    "cucm": ("Phone-SAST-trust", "Phone-CTL-trust", "Userlicensing-trust"),
    "imp": (),
    "cuc": (),
}


def unit_spec(name: str) -> UnitSpec:
    """The unit by its VOS name (case-insensitive, as VOS accepts `callmanager`). KeyError if unknown."""
    spec = UNITS.get(name) or _UNITS_LOWER.get(name.lower())
    if spec is None:
        raise KeyError(name)
    return spec


def units_for(product: str, version: Version | None = None) -> tuple[UnitSpec, ...]:
    """Identity units a product has. CUCM 12.0+ has ITLRecovery (§2.1 [VERIFIED: S-214231]: it signs the
    ITL from 12.0; 12.5 made it one cluster certificate from the publisher)."""
    out = [u for u in _UNITS if product in u.products]
    if product == "cucm" and version is not None and not version.at_least(12):
        out = [u for u in out if u.name != "ITLRecovery"]
    return tuple(out)


def trust_stores_for(product: str, version: Version | None = None) -> tuple[str, ...]:
    stores: list[str] = []
    for u in units_for(product, version):
        if u.trust_store not in stores:
            stores.append(u.trust_store)
    stores.extend(EXTRA_TRUST_STORES.get(product, ()))
    return tuple(stores)


def trust_store_unit(store: str) -> str:
    """The unit name VOS expects in `set cert import trust <unit>` for a store (`tomcat-trust` → `tomcat`).

    §1.7 [VERIFIED: S-CLI125-SET]: the trust unit argument is the service name, not the store name.
    """
    return store[: -len("-trust")] if store.endswith("-trust") else store


# --------------------------------------------------------------------------------------------
# Multi-server


_MULTI_SERVER: dict[str, dict[str, tuple[int, int, int]]] = {
    # unit -> product -> minimum version (major, minor, su)
    # §2.1 [VERIFIED: S-SEC14SU2]: tomcat, tomcat-ECDSA, CallManager, CallManager-ECDSA, TVS on 14+;
    # CA-signed multi-server tomcat already in 12.5 [INFERRED: since ~10.5/11.x].
    "tomcat": {"cucm": (10, 5, 0), "imp": (10, 5, 0), "cuc": (10, 5, 0)},
    "tomcat-ECDSA": {"cucm": (14, 0, 0), "imp": (14, 0, 0), "cuc": (14, 0, 0)},
    # CallManager: procedure.md step 2 / seed-procedure-ja.txt [VERIFIED: the Cisco note lists Tomcat,
    # CallManager, cup-xmpp, cup-xmpp-s2s as Multi-server and cites the 12.5(1) Security Guide] while
    # §2.1 reads "Yes (14+)". The note wins for 12.5; the 11.5 floor is [INFERRED]. Pre-14 CSRs of this
    # kind are made in the GUI anyway (cli_generates_multi_server_csr), so the engine never automates them.
    "CallManager": {"cucm": (11, 5, 0)},
    "CallManager-ECDSA": {"cucm": (14, 0, 0)},
    "TVS": {"cucm": (14, 0, 0)},
    # §2.2 [VERIFIED: S-IMP125SU2]: cup-xmpp and cup-xmpp-s2s (and ECDSA) are multi-server; cup is not.
    "cup-xmpp": {"imp": (10, 5, 0)},
    "cup-xmpp-ECDSA": {"imp": (10, 5, 0)},
    "cup-xmpp-s2s": {"imp": (10, 5, 0)},
    "cup-xmpp-s2s-ECDSA": {"imp": (10, 5, 0)},
}


def multi_server_allowed(product: str, version: Version | None, unit: str) -> bool:
    """Whether a multi-server (SAN) certificate exists for this unit on this product and release.

    CUC: only tomcat/tomcat-ECDSA (§2.3 [VERIFIED: S-CUC15]). CAPF is publisher-only, ipsec and
    ITLRecovery are never multi-server (§2.1 [VERIFIED: S-SEC14SU2]).
    """
    by_product = _MULTI_SERVER.get(unit_spec(unit).name, {})
    minimum = by_product.get(product)
    if minimum is None:
        return False
    if version is None:
        return True
    return version.at_least(*minimum)


def multi_server_covers_imp(unit: str) -> bool:
    """A CUCM multi-server certificate of this unit also names and reaches the IM&P nodes: tomcat
    (and, by the same GUI rule, tomcat-ECDSA). §2.1 [VERIFIED: S-SEC14SU2 / S-ADM125SU3]:
    "for tomcat on 12.5+, CUCM + IM&P nodes"; tomcat-ECDSA [INFERRED]."""
    return unit_spec(unit).name in ("tomcat", "tomcat-ECDSA")


def multi_server_cn(publisher_fqdn: str, ecdsa: bool = False) -> str:
    """Default multi-server CN `<host>-ms.<domain>` (`-EC-ms` for ECDSA). §2.1 [VERIFIED: S-SEC14SU2]."""
    host, _, domain = publisher_fqdn.partition(".")
    suffix = "-EC-ms" if ecdsa else "-ms"
    return f"{host}{suffix}.{domain}" if domain else f"{host}{suffix}"


# --------------------------------------------------------------------------------------------
# Restarts


@dataclass(frozen=True)
class RestartAction:
    """One service to restart after a unit changes.

    `scope` is `all` (every node in scope, publisher first) or `publisher` (publisher only).
    `command` is the exact CLI command. Tomcat and DRF are non-deployable in Control Center SOAP,
    so restarts go over SSH (§4.2 [VERIFIED: S-DEVNET-CC]).
    """

    service: str
    scope: Literal["all", "publisher", "subscribers"] = "all"
    command: str = ""
    #: Restarting this drops calls or re-registers phones (shown as risky in plans).
    disruptive: bool = False

    @property
    def cli(self) -> str:
        return self.command or f"utils service restart {self.service}"


def _r(service: str, scope: Literal["all", "publisher", "subscribers"] = "all", *,
       command: str = "", disruptive: bool = False) -> RestartAction:
    return RestartAction(service, scope, command, disruptive)


_DRF = (_r("Cisco DRF Master", "publisher"), _r("Cisco DRF Local"))


@dataclass(frozen=True)
class RestartRule:
    actions: tuple[RestartAction, ...]
    source: str
    note: str = ""


def restart_rule(product: str, version: Version | None, unit: str) -> RestartRule:
    """The services to restart after `unit` changes on `product` at `version` (§3).

    Services that do not exist at `version` (Cisco HAProxy, AXL/UDS Tomcat before 14, §1.9
    [VERIFIED: S-RN14]) are left out, because `utils service restart` of an absent service fails
    and would stop a renewal that has nothing wrong with it. With no version every candidate
    stays; the runner then skips what the node's `utils service list` does not show.
    """
    rule = _restart_rule(product, version, unit)
    kept = tuple(a for a in rule.actions if service_exists(a.service, version))
    if len(kept) == len(rule.actions):
        return rule
    dropped = ", ".join(a.service for a in rule.actions if a not in kept)
    note = "; ".join(n for n in (rule.note, f"{dropped} does not exist on {version} (§1.9)") if n)
    return RestartRule(kept, rule.source, note)


_CUC_TOMCAT = (_r("Cisco Tomcat"), _r("Connection IMAP Server"), _r("Cisco DirSync"), _r("Connection Jetty"),
               _r("Connection SMTP Server"), _r("Connection Conversation Manager", disruptive=True))
_IMP_CUP = RestartRule((_r("Cisco SIP Proxy"), _r("Cisco Presence Engine")),
                       "§3.4 [VERIFIED: S-OSADM91, S-IMP125SU2]")
# An XCP Router restart restarts every active XCP service (§3.4 [VERIFIED: S-IMP125SU2]): Jabber
# clients reconnect, hence `disruptive`.
_IMP_XMPP = RestartRule(
    (_r("Cisco XCP Router", disruptive=True), _r("Cisco XCP Connection Manager"),
     _r("Cisco XCP Web Connection Manager")),
    "§3.4 [VERIFIED: S-OSADM91, S-IMP125SU2]",
    "S-OSADM91 lists the two connection managers, the 12.5 guide the XCP Router: superset")
_IMP_S2S = RestartRule((_r("Cisco XCP XMPP Federation Connection Manager"),),
                       "§3.4 [VERIFIED: S-OSADM91, S-IMP125SU2]")

#: The services to restart after a unit changes, by (product, unit), from release 14 on and for an
#: unknown release (the runner skips what `utils service list` does not show). Each rule carries
#: its source and, where the sources disagree, which way the catalog went.
RESTART_RULES: dict[tuple[str, str], RestartRule] = {
    ("cucm", "tomcat"): RestartRule(
        (_r("Cisco Tomcat"), _r("Cisco AXL Tomcat"), _r("Cisco UDS Tomcat"), _r("Cisco Intercluster Lookup Service"),
         _r("Cisco Location Bandwidth Manager"), _r("Cisco Extension Mobility"), _r("Cisco TFTP", disruptive=True),
         *_DRF),
        "§3.1 [VERIFIED: S-SEC14SU2 table + upload message; TFTP note S-217138]",
        "14SU2 says DRF only after tomcat-ECDSA; the table and the upload message say both: "
        "the catalog restarts DRF (safe superset, §3.1 CONFLICT)"),
    ("cucm", "tomcat-ECDSA"): RestartRule(
        (_r("Cisco Tomcat"), _r("Cisco UDS Tomcat"), _r("Cisco AXL Tomcat"), *_DRF),
        "§3.1 [VERIFIED: S-SEC14SU2]"),
    ("cucm", "CallManager"): RestartRule(
        (_r("Cisco HAProxy"), _r("Cisco CallManager", disruptive=True), _r("Cisco CTIManager", disruptive=True),
         _r("Cisco TVS"), _r("Cisco TFTP", disruptive=True)),
        "§3.1 [VERIFIED: S-SEC14SU2, S-RN14], §3.2 [VERIFIED: S-217138], §3.3 [VERIFIED: S-ADM125SU3]",
        "14SU1+ needs only Cisco HAProxy, the TAC procedure restarts TVS, TFTP, CallManager and "
        "CTIManager: the catalog takes the superset (§3.1/§3.2 disagree)"),
    ("cucm", "CallManager-ECDSA"): RestartRule(
        (_r("Cisco CallManager", disruptive=True), _r("Cisco HAProxy")), "§3.1 [VERIFIED: S-SEC14SU2]"),
    ("cucm", "CAPF"): RestartRule(
        (_r("Cisco Certificate Authority Proxy Function", "publisher"), _r("Cisco TVS"),
         _r("Cisco TFTP", disruptive=True), _r("Cisco HAProxy")),
        "§3.1 [VERIFIED: S-SEC14SU2], §3.2 [VERIFIED: S-217138]",
        "the Security Guide says CAPF restarts itself; TAC restarts CAPF, TVS and TFTP: superset"),
    ("cucm", "TVS"): RestartRule(
        (_r("Cisco TFTP", disruptive=True), _r("Cisco TVS")), "§3.2 [VERIFIED: S-217138]",
        "the Security Guide says automatic; TAC restarts TFTP and TVS: superset"),
    ("cucm", "ITLRecovery"): RestartRule((), "§3.1 [VERIFIED: S-SEC14SU2] (automatic)"),
    ("cucm", "ipsec"): RestartRule(_DRF, "§3.1/§3.2 [VERIFIED: S-SEC14SU2, S-217138]"),
    ("imp", "tomcat"): RestartRule((_r("Cisco Tomcat"),), "§3.4 [VERIFIED: S-IMP125SU2]"),
    ("imp", "tomcat-ECDSA"): RestartRule((_r("Cisco Tomcat"),), "§3.4 [INFERRED: as tomcat]"),
    ("imp", "cup"): _IMP_CUP,
    ("imp", "cup-ECDSA"): _IMP_CUP,
    ("imp", "cup-xmpp"): _IMP_XMPP,
    ("imp", "cup-xmpp-ECDSA"): _IMP_XMPP,
    ("imp", "cup-xmpp-s2s"): _IMP_S2S,
    ("imp", "cup-xmpp-s2s-ECDSA"): _IMP_S2S,
    ("imp", "ipsec"): RestartRule(_DRF, "§3.4 [INFERRED: same as CUCM]"),
    ("cuc", "tomcat"): RestartRule(_CUC_TOMCAT, "§3.5 [VERIFIED: S-CUC15]"),
    ("cuc", "tomcat-ECDSA"): RestartRule(
        _CUC_TOMCAT, "§3.5 [VERIFIED: S-CUC15]",
        "S-CUC15 lists Tomcat and Conversation Manager \"+ the above where applicable\": the catalog restarts "
        "the whole tomcat list (safe superset)"),
    ("cuc", "ipsec"): RestartRule(_DRF, "§3.5 [VERIFIED: S-CUC15]"),
}

#: Where a release before 14 restarts something else than RESTART_RULES says.
RESTART_RULES_BEFORE_14: dict[tuple[str, str], RestartRule] = {
    ("cucm", "tomcat"): RestartRule(
        (_r("Cisco Tomcat"), _r("Cisco CallManager", disruptive=True), _r("Cisco TFTP", disruptive=True)),
        "§3.3 [VERIFIED: S-ADM125SU3 table]; TFTP §3.1 [VERIFIED: S-SEC14SU2 / S-217138 note, applied to 12.5 "
        "INFERRED]",
        "the 12.5 table lists Tomcat and CallManager; TFTP caches the tomcat certificate for HTTPS (6972) and is "
        "restarted too (safe superset)"),
}

_NO_RESTART = RestartRule((), "no restart listed")


def _restart_rule(product: str, version: Version | None, unit: str) -> RestartRule:
    key = (product, unit_spec(unit).name)
    if version is not None and not version.at_least(14) and key in RESTART_RULES_BEFORE_14:
        return RESTART_RULES_BEFORE_14[key]
    return RESTART_RULES.get(key, _NO_RESTART)


def restart_services(product: str, version: Version | None, unit: str) -> tuple[RestartAction, ...]:
    return restart_rule(product, version, unit).actions


def trust_restart_services(product: str, store: str,
                           version: Version | None = None) -> tuple[RestartAction, ...]:
    """Services to restart when a CA certificate is *added* to a trust store.

    IM&P: §3.4 [VERIFIED: S-IMP125SU2, S-OSADM91]. Unified CM: §3.2 [VERIFIED: S-225476] restarts
    CallManager, TFTP, Tomcat and HAProxy after a CA is added to CallManager-trust or tomcat-trust;
    the TAC renewal procedure (S-217138) restarts only Tomcat after a tomcat renewal, which uploads
    its CA too. The two do not contradict each other, so the catalog takes the superset; the engine
    runs these only when an upload really added a CA (a renewal from the same CA adds none).
    """
    actions: tuple[RestartAction, ...] = ()
    if product == "imp" and store == "tomcat-trust":
        actions = (_r("Cisco Intercluster Sync Agent"),)
    elif product == "imp" and store == "cup-xmpp-trust":
        actions = (_r("Cisco XCP Connection Manager"), _r("Cisco XCP Web Connection Manager"),
                   _r("Cisco XCP XMPP Federation Connection Manager"))
    elif product == "imp" and store == "cup-trust":
        actions = (_r("Cisco SIP Proxy"), _r("Cisco Presence Engine"))
    elif product == "cucm" and store in ("tomcat-trust", "CallManager-trust"):
        actions = (_r("Cisco CallManager", disruptive=True), _r("Cisco TFTP", disruptive=True),
                   _r("Cisco Tomcat"), _r("Cisco HAProxy"))
    return tuple(a for a in actions if service_exists(a.service, version))


def service_exists(service: str, version: Version | None) -> bool:
    """Whether `service` exists at `version` (unknown version: assume it does)."""
    since = _SERVICE_SINCE.get(service)
    return since is None or version is None or version.at_least(*since)


def serving_service(product: str, version: Version | None, unit: str) -> str | None:
    """The service whose restart makes the unit's TLS endpoint present a newly imported certificate.

    tomcat → Cisco Tomcat; CallManager → Cisco CallManager before 14SU1 and Cisco HAProxy after it
    (§3.1 [VERIFIED: S-RN14]: CallManager picks the certificate up, HAProxy fronts TLS);
    cup → Cisco SIP Proxy; cup-xmpp → Cisco XCP Connection Manager;
    cup-xmpp-s2s → Cisco XCP XMPP Federation Connection Manager [INFERRED from §2.2 "Used by"].
    """
    name = unit_spec(unit).name
    if name in ("tomcat", "tomcat-ECDSA"):
        return "Cisco Tomcat"
    if name in ("CallManager", "CallManager-ECDSA"):
        if version is not None and version.at_least(14, 0, 1):
            return "Cisco HAProxy"
        return "Cisco CallManager"
    return {
        "cup": "Cisco SIP Proxy",
        "cup-xmpp": "Cisco XCP Connection Manager",
        "cup-xmpp-s2s": "Cisco XCP XMPP Federation Connection Manager",
    }.get(name)


# --------------------------------------------------------------------------------------------
# Services present on a node (for `utils service list` in the lab and health checks)

_COMMON_SERVICES = ("System SSH", "Cisco DB", "Cisco Tomcat", "Cisco DRF Local", "Cisco DRF Master",
                    "Cisco Certificate Expiry Monitor", "Cisco Database Layer Monitor")
_PRODUCT_SERVICES: dict[str, tuple[str, ...]] = {
    "cucm": ("Cisco CallManager", "Cisco CTIManager", "Cisco TFTP", "Cisco TVS", "Cisco HAProxy",
             "Cisco AXL Tomcat", "Cisco UDS Tomcat", "Cisco SSOSP Tomcat", "Cisco AXL Web Service",
             "Cisco Intercluster Lookup Service", "Cisco Location Bandwidth Manager",
             "Cisco Extension Mobility", "Cisco Certificate Authority Proxy Function"),
    "imp": ("Cisco SIP Proxy", "Cisco Presence Engine", "Cisco XCP Router", "Cisco XCP Connection Manager",
            "Cisco XCP Web Connection Manager", "Cisco XCP XMPP Federation Connection Manager",
            "Cisco XCP Text Conference Manager", "Cisco Intercluster Sync Agent",
            "Cisco Server Recovery Manager"),
    "cuc": ("Connection IMAP Server", "Cisco DirSync", "Connection Jetty", "Connection SMTP Server",
            "Connection Conversation Manager"),
}
#: Services that exist only from a release on (§1.9 [VERIFIED: S-RN14]: AXL/UDS/SSOSP Tomcat are 14+).
_SERVICE_SINCE: dict[str, tuple[int, int, int]] = {
    "Cisco AXL Tomcat": (14, 0, 0), "Cisco UDS Tomcat": (14, 0, 0), "Cisco SSOSP Tomcat": (14, 0, 0),
    "Cisco HAProxy": (14, 0, 0),
}
#: Services Control Center SOAP cannot restart (§4.2 [VERIFIED: S-DEVNET-CC, C-svclist]). C-svclist's
#: servicelistoutput.txt also flags Certificate Expiry Monitor and Database Layer Monitor `Not Deployable`;
#: it lists CTL Provider as deployable, against §4.2, which the catalog keeps (the safe side: SSH restart).
NON_DEPLOYABLE_SERVICES = frozenset({"Cisco Tomcat", "Cisco DRF Master", "Cisco DRF Local", "Cisco TVS",
                                     "Cisco CTL Provider", "Cisco DB", "System SSH",
                                     "Cisco Certificate Expiry Monitor", "Cisco Database Layer Monitor"})


def services_for(product: str, version: Version | None = None) -> tuple[str, ...]:
    out = [*_COMMON_SERVICES, *_PRODUCT_SERVICES.get(product, ())]
    return tuple(s for s in out
                 if s not in _SERVICE_SINCE or version is None or version.at_least(*_SERVICE_SINCE[s]))


# --------------------------------------------------------------------------------------------
# HA and risks

#: §3.4 [VERIFIED: seed-procedure-ja.txt]: disable Presence Redundancy Group HA around the restarts that
#: follow a cup, cup-xmpp or cup-xmpp-s2s renewal. The -ECDSA variants restart the same services, so
#: the rule is applied to them too [INFERRED].
HA_UNITS = frozenset({"cup", "cup-ECDSA", "cup-xmpp", "cup-xmpp-ECDSA", "cup-xmpp-s2s", "cup-xmpp-s2s-ECDSA"})


def ha_applies(product: str, unit: str) -> bool:
    return product == "imp" and unit_spec(unit).name in HA_UNITS


#: §5.5 [VERIFIED: S-214231 / S-217138]: never renew these together; wait for phones in between.
NEVER_TOGETHER = frozenset({"CallManager", "TVS", "ITLRecovery"})
#: Units whose change reaches phones (ITL/CTL, TVS, CAPF): §5.5 [VERIFIED: S-214231 / S-217138].
_PHONE_UNITS = frozenset({"CallManager", "CallManager-ECDSA", "TVS", "CAPF", "ITLRecovery"})
#: §5.5 [VERIFIED: S-SEC14SU2 / S-214231]: CTL update after CallManager/CAPF/ITLRecovery in mixed mode
#: (TVS added: safe superset, it signs nothing in the CTL but phones consult it [INFERRED]).
_CTL_UNITS = frozenset({"CallManager", "CallManager-ECDSA", "CAPF", "ITLRecovery", "TVS"})


#: The public Cisco documents behind the facts a user may want to read further, by their short
#: name in `cisco-uc-certs.md` §0. A user sees the title, never the short name.
DOCUMENTS: dict[str, str] = {
    "S-217138": 'Cisco TAC, "Create New Certificates from Signed CA Certificates"',
    "S-214231": 'Cisco TAC, "Certificate Regeneration Process for Cisco Unified Communications Manager"',
    "S-SEC14SU2": 'the Security Guide for Cisco Unified Communications Manager, chapter "Certificates"',
    "S-ADM125SU3": 'the Administration Guide for Cisco Unified Communications Manager 12.5(1)SU3, '
                   'chapter "Manage Certificates"',
    "S-RN14": "the Release Notes for Cisco Unified Communications Manager 14",
    "S-IMP125SU2": 'the IM and Presence Configuration and Administration Guide 12.5(1)SU2, '
                   'chapter "Configure Certificates"',
}


@dataclass(frozen=True)
class Note:
    """A sentence shown to the user, with where it comes from kept beside it for maintainers.

    `text` is plain words; `source` is the reference (`cisco-uc-certs.md` section and source short
    name) and stays in the code. `document`, where reading further helps, names the public Cisco
    document whose title the user sees.
    """

    text: str
    source: str
    document: str | None = None

    def shown(self) -> str:
        return f"{self.text} (see {DOCUMENTS[self.document]})" if self.document else self.text


def risk_notes(product: str, version: Version | None, unit: str, *,
               mixed_mode: bool = False) -> tuple[str, ...]:
    """Warnings a plan shows before it runs, in plain words; their sources stay in `_risks`."""
    return tuple(dict.fromkeys(n.shown() for n in _risks(product, version, unit, mixed_mode)))


def _risks(product: str, version: Version | None, unit: str, mixed_mode: bool) -> tuple[Note, ...]:
    name = unit_spec(unit).name
    notes: list[Note] = []
    if name in NEVER_TOGETHER:
        others = ", ".join(sorted(NEVER_TOGETHER - {name}))
        notes.append(Note(f"never renew {name} in the same window as {others}: wait until every phone has "
                          "re-registered", "§5.5 [VERIFIED: S-214231]", "S-214231"))
    if name in _PHONE_UNITS:
        notes.append(Note("phones re-register or reset after this change; check RTMT before the next unit",
                          "§5.5"))
    if name in _CTL_UNITS:
        notes.append(Note("the cluster is in mixed mode: run `utils ctl update CTLFile` and reset phones "
                          "afterwards" if mixed_mode else
                          "if the cluster is in mixed mode, run `utils ctl update CTLFile` and reset phones "
                          "afterwards", "§5.5 [VERIFIED: S-SEC14SU2]", "S-SEC14SU2"))
    if name == "CallManager" and product == "cucm" and version is not None and version.at_least(14):
        notes.append(Note("the enterprise parameter \"Phone Interaction on Certificate Update\" decides whether "
                          "phones reset by themselves", "§3.1 [VERIFIED: S-RN14]"))
    if name == "CallManager":
        notes.append(Note("keys above 2048 bits may not be supported by some phones",
                          "§5.4 [VERIFIED: S-ADM125SU3]"))
    if name == "tomcat" and product == "cucm":
        notes.append(Note("if SSO is enabled, disable it before replacing tomcat and re-enable it after",
                          "§3.2 [VERIFIED: S-217138]", "S-217138"))
    if ha_applies(product, name):
        notes.append(Note("High Availability is off while the services restart: a node failure in that window "
                          "is not covered", "§3.4"))
    if product == "cuc" and name in ("tomcat", "tomcat-ECDSA"):
        notes.append(Note("restarting Connection Conversation Manager drops active calls",
                          "§3.5 [VERIFIED: S-CUC15]"))
    if any(a.disruptive for a in restart_services(product, version, name)):
        notes.append(Note("the restarts include services whose restart drops calls, phone registrations or "
                          "client sessions", "§3"))
    notes.append(Note("take a DRS backup after the change", "§5.4 [VERIFIED: S-217138]"))
    return tuple(notes)


# --------------------------------------------------------------------------------------------
# CSR subject and SANs


def auto_populated_sans(unit: str, *, multi_server: bool, node_fqdn: str, cluster_fqdns: tuple[str, ...] = (),
                        presence_domains: tuple[str, ...] = (), email_domains: tuple[str, ...] = (),
                        group_chat_alias: str | None = None, federation_wildcard: bool = False
                        ) -> tuple[str, ...]:
    """The SANs the GUI's "Auto-populated Domains" would put into a CSR, in its order, without repeats.

    procedure.md step 2 [VERIFIED: seed-procedure-ja.txt]: every node's FQDN (multi-server); presence
    domains (cup-xmpp, cup-xmpp-s2s); e-mail domains, the group chat alias and the wildcard domain
    (cup-xmpp-s2s only, the last only while "Enable Wildcards in XMPP Federation Security Certificates"
    is on). A single-server CSR carries its node's FQDN (§5.2 [VERIFIED: S-SEC14SU2 / S-ADM125SU3]).
    The wildcard is written `*.<presence domain>` [INFERRED: the note does not show its form].
    """
    name = unit_spec(unit).name
    base = name.removesuffix("-ECDSA")
    sans: list[str] = list(cluster_fqdns) if multi_server else [node_fqdn]
    if base in ("cup-xmpp", "cup-xmpp-s2s"):
        sans.extend(presence_domains)
    if base == "cup-xmpp-s2s":
        sans.extend(email_domains)
        if group_chat_alias:
            sans.append(group_chat_alias)
        if federation_wildcard:
            sans.extend(f"*.{d}" for d in presence_domains)
    return tuple(dict.fromkeys(s.lower() for s in sans if s))
