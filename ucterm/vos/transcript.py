"""Transcripts: every line sent to and received from a node, with secrets taken out.

Transcripts are shown in the TUI's log pane and stored in job folders, so they must never hold
a password or a private key. Certificates are public, but a pasted PEM is forty lines of noise;
it is shortened to `<certificate CN=... serial=...>` so the transcript reads like what happened.

:func:`redact` works on a whole text. :class:`LineRedactor` does the same for a stream of lines
(a PEM block spans many lines and may arrive across several reads), and :class:`Transcript`
turns raw bytes of one channel into :class:`~ucterm.events.TranscriptLine` events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from cryptography import x509

from ucterm.events import Direction, EventSink, TranscriptLine, emit
from ucterm.vos import text as vtext

PRIVATE_KEY_PLACEHOLDER = "<private key redacted>"
#: The longest line a transcript keeps; the rest of a longer line is counted, not kept. A VOS
#: line is at most a few hundred characters; a node printing one endless line must not make the
#: transcript (the TUI's log, the job folder) hold it, nor cost a copy of it per chunk.
MAX_TRANSCRIPT_LINE = 4096
SECRET_PLACEHOLDER = "***"

_BEGIN_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_PRIVATE_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.DOTALL)
_CERT_RE = re.compile(
    r"-----BEGIN (CERTIFICATE|(?:NEW )?CERTIFICATE REQUEST|CERTIFICATE SIGN REQUEST)-----(.*?)-----END \1-----",
    re.DOTALL,
)
#: A BEGIN line for a block that never ended within the text (a truncated paste).
_OPEN_CERT_RE = re.compile(
    r"-----BEGIN (CERTIFICATE|(?:NEW )?CERTIFICATE REQUEST|CERTIFICATE SIGN REQUEST)-----.*\Z", re.DOTALL
)


def describe_pem(label: str, body: str) -> str:
    """`<certificate CN=... serial=...>` (or `<certificate request CN=...>`) for one PEM body."""
    pem = f"-----BEGIN {label}-----\n{re.sub(r'[^A-Za-z0-9+/=]', '', body)}\n-----END {label}-----\n"
    if label == "CERTIFICATE":
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            return "<certificate (unreadable)>"
        return f"<certificate {_cn(cert.subject)} serial={cert.serial_number:x}>"
    try:
        csr = x509.load_pem_x509_csr(pem.replace(label, "CERTIFICATE REQUEST").encode())
    except ValueError:
        return "<certificate request (unreadable)>"
    return f"<certificate request {_cn(csr.subject)}>"


def _cn(name: x509.Name) -> str:
    cns = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if cns:
        value = cns[0].value
        return f"CN={value if isinstance(value, str) else value.decode('latin-1')}"
    return name.rfc4514_string() or "(no subject)"


def _mask_secrets(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, SECRET_PLACEHOLDER)
    return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without passwords, private keys, and with certificates shortened to their subject.

    Private key blocks are removed even when their END line is missing (a truncated paste).
    """
    text = _PRIVATE_RE.sub(PRIVATE_KEY_PLACEHOLDER, text)
    text = _CERT_RE.sub(lambda m: describe_pem(m.group(1), m.group(2)), text)
    text = _OPEN_CERT_RE.sub("<certificate text, incomplete>", text)
    return _mask_secrets(text, secrets)


class LineRedactor:
    """Redacts a stream of lines; PEM blocks are held back until their END line arrives.

    Feed lines one at a time; each call returns the lines that may be shown now. A private key
    block is never shown, whether or not it ends; :meth:`flush` releases what an unfinished block
    held (as a placeholder) when the stream stops.
    """

    def __init__(self, secrets: Callable[[], Iterable[str]] = tuple) -> None:
        self._secrets = secrets
        self._block: list[str] | None = None
        self._label = ""

    def feed(self, line: str) -> list[str]:
        if self._block is not None:
            self._block.append(line)
            if f"-----END {self._label}-----" in line:
                joined = "\n".join(self._block)
                self._block = None
                return [redact(joined, self._secrets())]
            return []
        m = _BEGIN_RE.search(line)
        if m and f"-----END {m.group(1)}-----" not in line[m.end() :]:
            self._label = m.group(1)
            self._block = [line]
            return []
        return [redact(line, self._secrets())]

    def flush(self) -> list[str]:
        if self._block is None:
            return []
        label, self._block = self._label, None
        if "PRIVATE KEY" in label:
            return [f"{PRIVATE_KEY_PLACEHOLDER} (incomplete)"]
        return [f"<{label.lower()} text, incomplete>"]


class Transcript:
    """Emits :class:`TranscriptLine` events for one node and channel, redacted, line by line.

    Received data arrives in chunks that split lines anywhere; only complete lines are emitted
    (ANSI stripped, CR overwrites applied), and :meth:`flush` emits a trailing partial line such
    as a prompt. `secrets` is called each time, so a password resolved later is still masked.
    """

    def __init__(
        self,
        node: str,
        sink: EventSink | None,
        *,
        channel: str = "ssh",
        secrets: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self.node = node
        self.sink = sink
        self.channel = channel
        self._secrets = secrets
        self._partial = ""
        #: Characters of the current line beyond MAX_TRANSCRIPT_LINE, dropped.
        self._dropped = 0
        self._redactors: dict[str, LineRedactor] = {
            "sent": LineRedactor(secrets),
            "received": LineRedactor(secrets),
        }

    async def _emit(self, direction: Direction, text: str) -> None:
        await emit(self.sink, TranscriptLine(node=self.node, direction=direction, text=text, channel=self.channel))

    async def sent(self, text: str) -> None:
        """Record text ucterm sent (a command, an answer, a pasted PEM: one event per line)."""
        redactor = self._redactors["sent"]
        for raw in text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n"):
            for line in redactor.feed(raw):
                await self._emit("sent", line)
        for line in redactor.flush():
            await self._emit("sent", line)

    def _extend(self, piece: str) -> None:
        room = max(0, MAX_TRANSCRIPT_LINE - len(self._partial))
        if room:
            self._partial += piece[:room]
        self._dropped += max(0, len(piece) - room)

    def _take_line(self) -> str:
        shown = vtext.clean_line(self._partial)
        if self._dropped:
            shown += f"… ({self._dropped:,} more characters on this line)"
        self._partial, self._dropped = "", 0
        return shown

    async def received(self, chunk: str) -> None:
        """Record a chunk of output; complete lines are emitted, the rest waits for more."""
        *complete, rest = chunk.split("\n")
        redactor = self._redactors["received"]
        for piece in complete:
            self._extend(piece)
            for line in redactor.feed(self._take_line()):
                await self._emit("received", line)
        self._extend(rest)

    async def flush(self) -> None:
        """Emit what is left of the current line (a prompt) and any unfinished PEM placeholder."""
        redactor = self._redactors["received"]
        if self._partial or self._dropped:
            shown = self._take_line()
            if shown.strip():
                for line in redactor.feed(shown):
                    await self._emit("received", line)
        for line in redactor.flush():
            await self._emit("received", line)

    async def info(self, text: str) -> None:
        await self._emit("info", redact(text, self._secrets()))
