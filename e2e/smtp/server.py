"""SMTP server for Tayori's end-to-end tests, built on aiosmtpd 1.4.6.

It listens on 127.0.0.1 with three listeners: "starttls" (plain text, STARTTLS required before
AUTH), "tls" (implicit TLS from the first byte) and "plain" (no STARTTLS, no AUTH, so every MAIL
gets 530). The local part of each recipient address selects a scripted reply (see
`RecipientScript`), and every accepted message is written to the output directory as
NNNNNN.eml (the DATA bytes) and NNNNNN.json (the envelope).

When all listeners are up, the server prints one JSON line with their ports to stdout, for
example {"starttls": 40123, "tls": 40124, "plain": 40125}, and serves until SIGTERM or SIGINT.
Log lines go to stderr. See README.md beside this file.
"""

import argparse
import asyncio
import hmac
import json
import logging
import os
import re
import signal
import ssl
import sys
import warnings
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

log = logging.getLogger("tayori.smtp")

LISTEN_HOST = "127.0.0.1"
# The greeting names this host instead of socket.getfqdn(), which can wait for DNS.
SERVER_HOSTNAME = "localhost"
SERVER_IDENT = "Tayori test SMTP (aiosmtpd)"

FLAKY_PATTERN = re.compile(r"flaky-(\d)-")


class AiosmtpdNoiseFilter(logging.Filter):
    """Drop aiosmtpd 1.4.6 warnings that this server triggers on purpose in every session."""

    NOISE = (
        # Logged for every "tls" session. That listener is TLS from the first byte, so AUTH
        # without STARTTLS is still encrypted.
        "auth_required == True but auth_require_tls == False",
        # Logged by aiosmtpd itself after every successful AUTH.
        "Session.login_data is deprecated",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(message.startswith(noise) for noise in self.NOISE)


def wait_forever() -> asyncio.Future:
    """Return a future that never completes, so awaiting it ends only by cancellation.

    aiosmtpd cancels a session's task when its connection is lost.
    """
    return asyncio.get_running_loop().create_future()


class RecipientScript:
    """Scripted RCPT replies, selected by the start of the recipient's local part.

    Matching ignores case. Flaky counts are kept per exact address for the life of the process.
    """

    REJECT = "550 5.1.1 mailbox unavailable"
    DEFER = "451 4.7.1 try again later"
    CLOSE = "421 4.7.0 closing connection"
    FLAKY = "451 4.3.0 try again"

    def __init__(self) -> None:
        self.flaky_attempts: dict[str, int] = {}

    @staticmethod
    def local_part(address: str) -> str:
        return address.rpartition("@")[0].lower()

    @classmethod
    def is_stall(cls, address: str) -> bool:
        return cls.local_part(address).startswith("stall-")

    @classmethod
    def is_drop(cls, address: str) -> bool:
        return cls.local_part(address).startswith("drop-")

    def reply_for(self, address: str) -> str | None:
        """Return the scripted reply for RCPT TO:<address>, or None to accept it."""
        local_part = self.local_part(address)
        if local_part.startswith("reject-"):
            return self.REJECT
        if local_part.startswith("defer-"):
            return self.DEFER
        if local_part.startswith("close-"):
            return self.CLOSE

        flaky = FLAKY_PATTERN.match(local_part)
        if flaky:
            failures = int(flaky.group(1))
            attempt = self.flaky_attempts.get(address, 0) + 1
            self.flaky_attempts[address] = attempt
            if attempt <= failures:
                return self.FLAKY

        return None


class ScriptedSMTP(SMTP):
    """An aiosmtpd session that logs its events, can delay its greeting and can stall at DATA."""

    def __init__(self, handler: "Handler", *, listener: str, greeting_delay: float, **kwargs):
        super().__init__(handler, **kwargs)
        self.listener = listener
        self.greeting_delay = greeting_delay

    def describe(self) -> str:
        """Return "<listener> <host>:<port>", the prefix of every log line of this session."""
        peer = self.session.peer if self.session else None
        if isinstance(peer, tuple) and len(peer) >= 2:
            return f"{self.listener} {peer[0]}:{peer[1]}"
        return f"{self.listener} {peer}"

    def uses_tls(self) -> bool:
        transport = self.transport
        return transport is not None and transport.get_extra_info("ssl_object") is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.event_handler.sessions.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.event_handler.sessions.discard(self)
        if error is None:
            log.info("%s disconnected", self.describe())
        else:
            log.info("%s disconnected: %s", self.describe(), str(error) or type(error).__name__)
        super().connection_lost(error)

    # NOTE: This overrides a private method of aiosmtpd, which sends the 220 greeting. It works
    # with the pinned aiosmtpd 1.4.6 and must be checked when that version changes.
    async def _handle_client(self) -> None:
        if self.uses_tls():
            ssl_object = self.transport.get_extra_info("ssl_object")
            log.info("%s connected with %s", self.describe(), ssl_object.version())
        else:
            log.info("%s connected", self.describe())
        if self.greeting_delay > 0:
            log.info("%s delaying greeting by %g s", self.describe(), self.greeting_delay)
            await asyncio.sleep(self.greeting_delay)
        await super()._handle_client()

    async def check_auth_needed(self, caller_method: str) -> bool:
        needed = await super().check_auth_needed(caller_method)
        if needed:
            log.info("%s %s rejected with 530: not authenticated", self.describe(), caller_method)
        return needed

    async def handle_exception(self, error: Exception) -> str:
        # Replaces aiosmtpd's multi-line traceback log with one line. aiosmtpd closes the
        # connection itself after a failed STARTTLS handshake and sends this reply otherwise.
        cause = error.__cause__ or error
        log.warning("%s session error: %s: %s", self.describe(), type(cause).__name__, cause)
        return f"500 Error: ({type(error).__name__}) {error}"

    async def smtp_DATA(self, arg: str) -> None:
        stalled = [address for address in self.envelope.rcpt_tos if RecipientScript.is_stall(address)]
        if stalled and self.session.authenticated:
            # The client gets no reply to DATA. The session ends when the client disconnects,
            # or when aiosmtpd's idle timeout (300 s) closes it.
            log.info("%s DATA stalled for %s", self.describe(), ", ".join(stalled))
            await wait_forever()
        await super().smtp_DATA(arg)


class Handler:
    """aiosmtpd handler shared by all listeners: checks credentials, scripts RCPT, stores mail."""

    def __init__(self, outdir: Path, user: str, password: str) -> None:
        self.outdir = outdir
        self.user = user.encode()
        self.password = password.encode()
        self.script = RecipientScript()
        self.message_count = 0
        self.sessions: set[ScriptedSMTP] = set()

    def authenticate(self, server, session, envelope, mechanism: str, auth_data) -> AuthResult:
        """Check AUTH PLAIN and LOGIN credentials. A failure makes aiosmtpd reply 535."""
        if not isinstance(auth_data, LoginPassword):
            log.info("%s AUTH %s failed: unsupported credentials", server.describe(), mechanism)
            return AuthResult(success=False, handled=False)

        login = auth_data.login.decode("utf-8", errors="replace")
        user_matches = hmac.compare_digest(auth_data.login, self.user)
        password_matches = hmac.compare_digest(auth_data.password, self.password)
        if user_matches and password_matches:
            log.info("%s AUTH %s succeeded for user %r", server.describe(), mechanism, login)
            return AuthResult(success=True, auth_data=login)

        log.info("%s AUTH %s failed for user %r: wrong user name or password",
                 server.describe(), mechanism, login)
        return AuthResult(success=False, handled=False)

    def handle_STARTTLS(self, server, session, envelope) -> bool:
        # aiosmtpd calls this hook synchronously after the STARTTLS handshake. Returning True
        # accepts the session.
        ssl_object = server.transport.get_extra_info("ssl_object")
        version = ssl_object.version() if ssl_object else "unknown version"
        log.info("%s STARTTLS completed with %s", server.describe(), version)
        return True

    async def handle_MAIL(self, server, session, envelope, address: str, mail_options: list[str]) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        reverse_path = "" if address == "<>" else address
        log.info("%s MAIL FROM:<%s> accepted", server.describe(), reverse_path)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list[str]) -> str:
        reply = self.script.reply_for(address)

        if reply == RecipientScript.CLOSE:
            log.info("%s RCPT TO:<%s> answered %r, closing the connection",
                     server.describe(), address, reply)
            await server.push(reply)
            server.transport.close()
            # Cancel this session's task now, so aiosmtpd sends nothing after the 421.
            asyncio.current_task().cancel()
            await wait_forever()

        if reply is not None:
            log.info("%s RCPT TO:<%s> answered %r", server.describe(), address, reply)
            return reply

        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        log.info("%s RCPT TO:<%s> accepted", server.describe(), address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.message_count += 1
        name = f"{self.message_count:06d}"
        metadata = {
            # aiosmtpd reports the null reverse-path as "<>". The record stores it as "".
            # The envelope keeps "<>", because aiosmtpd reads an empty mail_from as "no MAIL yet".
            "mail_from": "" if envelope.mail_from == "<>" else envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "auth_user": session.auth_data if session.authenticated else None,
            "listener": server.listener,
            "tls": server.uses_tls(),
        }
        try:
            # The .json goes first, so a reader that sees the .eml can read both.
            write_atomically(self.outdir / f"{name}.json", json.dumps(metadata, indent=2).encode() + b"\n")
            write_atomically(self.outdir / f"{name}.eml", envelope.original_content)
        except OSError as error:
            log.error("%s failed to store message %s in %s: %s", server.describe(), name, self.outdir, error)
            return "451 4.3.0 failed to store the message"

        log.info("%s message %s stored: %d bytes for %s", server.describe(), name,
                 len(envelope.original_content), ", ".join(envelope.rcpt_tos))
        reply = f"250 2.0.0 OK queued as {name}"
        if any(RecipientScript.is_drop(address) for address in envelope.rcpt_tos):
            log.info("%s closing the connection after accepting message %s", server.describe(), name)
            await server.push(reply)
            server.transport.close()
            # Cancel this session's task now, so aiosmtpd reads no further command.
            asyncio.current_task().cancel()
            await wait_forever()
        return reply


def write_atomically(path: Path, data: bytes) -> None:
    """Write data to a hidden temporary file beside path, then rename it to path."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="SMTP server for Tayori's end-to-end tests (listens on 127.0.0.1 only).")
    parser.add_argument("--dir", required=True, type=Path,
                        help="directory for accepted messages (NNNNNN.eml and NNNNNN.json); created if missing")
    parser.add_argument("--cert", required=True, type=Path,
                        help="PEM certificate (chain) for the tls and starttls listeners")
    parser.add_argument("--key", required=True, type=Path, help="PEM private key of --cert")
    parser.add_argument("--user", required=True, help="the only accepted AUTH user name")
    parser.add_argument("--password", required=True, help="the only accepted AUTH password")
    parser.add_argument("--starttls-port", type=int, default=0,
                        help="port of the STARTTLS listener; 0 (default) picks a free port")
    parser.add_argument("--tls-port", type=int, default=0,
                        help="port of the implicit-TLS listener; 0 (default) picks a free port")
    parser.add_argument("--plain-port", type=int, default=0,
                        help="port of the plain-text listener without STARTTLS or AUTH; 0 (default) picks a free port")
    parser.add_argument("--greeting-delay", type=float, default=0.0, metavar="SECONDS",
                        help="seconds to wait before the 220 greeting on every listener (default 0)")
    arguments = parser.parse_args(argv)

    for option in ("starttls_port", "tls_port", "plain_port"):
        port = getattr(arguments, option)
        if not 0 <= port <= 65535:
            parser.error(f"--{option.replace('_', '-')} must be between 0 and 65535, got {port}")
    if arguments.greeting_delay < 0:
        parser.error(f"--greeting-delay must not be negative, got {arguments.greeting_delay}")
    return arguments


def make_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    # Purpose.CLIENT_AUTH gives a server context that does not ask for client certificates,
    # which is what aiosmtpd expects.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    return context


async def serve(arguments: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    try:
        tls_context = make_tls_context(arguments.cert, arguments.key)
    except (OSError, ssl.SSLError) as error:
        log.error("failed to load certificate %s and key %s: %s; e2e/smtp/setup --certs DIR creates them",
                  arguments.cert, arguments.key, error)
        return 2

    arguments.dir.mkdir(parents=True, exist_ok=True)
    handler = Handler(arguments.dir, arguments.user, arguments.password)

    def session_factory(listener: str, **options):
        def create() -> ScriptedSMTP:
            return ScriptedSMTP(
                handler,
                listener=listener,
                greeting_delay=arguments.greeting_delay,
                hostname=SERVER_HOSTNAME,
                ident=SERVER_IDENT,
                enable_SMTPUTF8=True,
                authenticator=handler.authenticate,
                auth_required=True,
                loop=loop,
                **options,
            )
        return create

    listeners = {
        # aiosmtpd rejects every command except EHLO, NOOP, STARTTLS and QUIT with 530 before
        # STARTTLS, and it offers AUTH only after STARTTLS.
        "starttls": (arguments.starttls_port, None,
                     session_factory("starttls", tls_context=tls_context, require_starttls=True)),
        # The socket is TLS from the first byte. auth_require_tls=False is needed because
        # aiosmtpd counts only STARTTLS as TLS and would otherwise offer no AUTH.
        # NOTE: A failed handshake on this listener is not logged, because asyncio (Python
        # 3.11) reports those only in debug mode and the session never starts.
        "tls": (arguments.tls_port, tls_context,
                session_factory("tls", auth_require_tls=False)),
        # No tls_context means no STARTTLS, and aiosmtpd then offers no AUTH either.
        "plain": (arguments.plain_port, None, session_factory("plain")),
    }

    servers = []
    ports = {}
    for name, (port, server_tls, factory) in listeners.items():
        try:
            server = await loop.create_server(factory, host=LISTEN_HOST, port=port, ssl=server_tls)
        except OSError as error:
            log.error("failed to listen on %s:%d for the %s listener: %s; pass port 0 to pick a free port",
                      LISTEN_HOST, port, name, error)
            for started in servers:
                started.close()
            return 1
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)

    log.info("listening on %s: %s; storing messages in %s", LISTEN_HOST,
             ", ".join(f"{name} {port}" for name, port in ports.items()), arguments.dir)
    sys.stdout.write(json.dumps(ports) + "\n")
    sys.stdout.flush()

    await stop.wait()

    log.info("stopping: closing listeners and %d open sessions", len(handler.sessions))
    for server in servers:
        server.close()
    for session in list(handler.sessions):
        # abort(), because close() on a TLS connection waits for the client's close_notify.
        if session.transport is not None:
            session.transport.abort()
    # Let the aborted connections run connection_lost() before the loop closes.
    await asyncio.sleep(0.1)
    return 0


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    # aiosmtpd's own logger writes several lines per command, so only its warnings are kept.
    aiosmtpd_log = logging.getLogger("mail.log")
    aiosmtpd_log.setLevel(logging.WARNING)
    aiosmtpd_log.addFilter(AiosmtpdNoiseFilter())
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

    code = asyncio.run(serve(arguments))
    if code == 0:
        log.info("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
