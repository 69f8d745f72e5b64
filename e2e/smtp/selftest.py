"""Self-test of the test SMTP server (server.py) with smtplib and openssl s_client.

Usage: python3 e2e/smtp/selftest.py [--certs DIR] [--keep]

Runs ./setup (virtual environment and certificates), starts its own server instances on free
ports, checks every documented behaviour, stops the servers and prints "N passed, N failed".
The exit status is 0 only when every check passed. It needs only the standard library, so any
Python 3.11 or later can run it. Without --certs, the certificates go to a temporary directory.
"""

import argparse
import base64
import json
import os
import select
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
USER = "selftest-user"
PASSWORD = "selftest-Passw0rd!"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 20.0
CLIENT_TIMEOUT = 10.0
STALL_CLIENT_TIMEOUT = 2.0
GREETING_DELAY = 1.5

# Exercises dot-stuffing (a line that is only "."), a leading dot, 8-bit UTF-8 and CRLF endings.
MESSAGE = (
    b"From: Sender <sender@example.com>\r\n"
    b"To: Receiver <receiver@example.com>\r\n"
    b"Subject: selftest\r\n"
    b"Message-ID: <selftest@example.com>\r\n"
    b"\r\n"
    b"first line\r\n"
    b".\r\n"
    b".leading dot\r\n"
    b"\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\r\n"
)


class CheckFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def expect_equal(actual, expected, label: str) -> None:
    if actual != expected:
        raise CheckFailed(f"{label}: expected {expected!r}, got {actual!r}")


def expect_disconnected(client: smtplib.SMTP, moment: str) -> None:
    """Fail unless the server has closed the connection: a NOOP must find it gone."""
    try:
        reply = client.noop()
    except smtplib.SMTPServerDisconnected:
        return
    raise CheckFailed(f"connection still open {moment}, NOOP got {reply!r}")


class ServerProcess:
    """One server.py child process with its output directory and log file."""

    def __init__(self, python: str, workdir: Path, name: str, cert: Path, key: Path, *extra: str):
        self.name = name
        self.outdir = workdir / f"{name}-out"
        self.log_path = workdir / f"{name}.log"
        self.log_file = open(self.log_path, "wb")
        command = [
            python, str(HERE / "server.py"),
            "--dir", str(self.outdir), "--cert", str(cert), "--key", str(key),
            "--user", USER, "--password", PASSWORD, *extra,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log_file)
        self.json_line = self._read_json_line()
        self.ports = json.loads(self.json_line)

    def _read_json_line(self) -> bytes:
        ready, _, _ = select.select([self.process.stdout], [], [], STARTUP_TIMEOUT)
        if not ready:
            self.stop()
            raise CheckFailed(f"{self.name} server printed no JSON line within {STARTUP_TIMEOUT} s; see {self.log_path}")
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise CheckFailed(f"{self.name} server exited before listening; log:\n{self.log_text()}")
        return line

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, signal_number: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()
        return self.process.returncode


class SelfTest:
    def __init__(self, python: str, certs: Path, workdir: Path):
        self.python = python
        self.certs = certs
        self.workdir = workdir
        self.passed = 0
        self.failed = 0
        self.servers: list[ServerProcess] = []
        self.client_context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        self.expected_messages: list[tuple[bytes, dict]] = []

    # Harness ----------------------------------------------------------------------------

    def check(self, name: str, function, *args) -> None:
        try:
            function(*args)
        except Exception as error:
            self.failed += 1
            detail = str(error) if isinstance(error, CheckFailed) else traceback.format_exc()
            print(f"FAIL {name}: {detail}", flush=True)
        else:
            self.passed += 1
            print(f"ok   {name}", flush=True)

    def start_server(self, name: str, cert_name: str, *extra: str) -> ServerProcess:
        server = ServerProcess(self.python, self.workdir, name,
                               self.certs / f"{cert_name}.pem", self.certs / f"{cert_name}.key", *extra)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()

    def connect_starttls(self, server: ServerProcess, authenticate: bool = True) -> smtplib.SMTP:
        client = smtplib.SMTP(HOST, server.ports["starttls"], local_hostname="selftest.example", timeout=CLIENT_TIMEOUT)
        client.starttls(context=self.client_context)
        if authenticate:
            client.login(USER, PASSWORD)
        return client

    def connect_tls(self, server: ServerProcess, authenticate: bool = True, host: str = HOST) -> smtplib.SMTP_SSL:
        client = smtplib.SMTP_SSL(host, server.ports["tls"], local_hostname="selftest.example",
                                  timeout=CLIENT_TIMEOUT, context=self.client_context)
        if authenticate:
            client.login(USER, PASSWORD)
        return client

    def send_and_record(self, client: smtplib.SMTP, sender: str, recipients: list[str],
                        listener: str, accepted: list[str] | None = None) -> dict:
        """Send MESSAGE and record the .eml and .json that the server must store for it.

        Returns sendmail's dict of refused recipients. `accepted` defaults to all recipients.
        """
        refused = client.sendmail(sender, recipients, MESSAGE)
        accepted = recipients if accepted is None else accepted
        self.expected_messages.append((MESSAGE, {
            "mail_from": sender, "rcpt_tos": accepted, "auth_user": USER, "listener": listener, "tls": True,
        }))
        return refused

    # Checks: starttls listener ------------------------------------------------------------

    def starttls_before_tls(self, server: ServerProcess) -> None:
        with smtplib.SMTP(HOST, server.ports["starttls"], local_hostname="selftest.example", timeout=CLIENT_TIMEOUT) as client:
            client.ehlo()
            expect(client.has_extn("starttls"), "STARTTLS is not advertised")
            expect(not client.has_extn("auth"), f"AUTH is advertised before STARTTLS: {client.esmtp_features}")
            code, _ = client.docmd("MAIL FROM:<sender@example.com>")
            expect_equal(code, 530, "MAIL before STARTTLS")
            code, _ = client.docmd("AUTH PLAIN " + base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode())
            expect_equal(code, 530, "AUTH before STARTTLS")

    def starttls_after_tls(self, server: ServerProcess) -> None:
        with self.connect_starttls(server, authenticate=False) as client:
            client.ehlo()
            expect(not client.has_extn("starttls"), "STARTTLS is still advertised after STARTTLS")
            mechanisms = client.esmtp_features.get("auth", "").split()
            expect("PLAIN" in mechanisms and "LOGIN" in mechanisms, f"AUTH mechanisms: {mechanisms}")
            code, message = client.docmd("MAIL FROM:<sender@example.com>")
            expect_equal((code, message), (530, b"5.7.0 Authentication required"), "MAIL without AUTH")

    def wrong_credentials(self, server: ServerProcess) -> None:
        cases = [("PLAIN", USER, "wrong-password"), ("LOGIN", USER, "wrong-password"), ("PLAIN", "nobody", PASSWORD)]
        for mechanism, user, password in cases:
            with self.connect_starttls(server, authenticate=False) as client:
                client.ehlo()
                client.user, client.password = user, password
                authobject = client.auth_plain if mechanism == "PLAIN" else client.auth_login
                try:
                    client.auth(mechanism, authobject)
                except smtplib.SMTPAuthenticationError as error:
                    expect_equal(error.smtp_code, 535, f"AUTH {mechanism} as {user!r} reply code")
                else:
                    raise CheckFailed(f"AUTH {mechanism} as {user!r} with a wrong password succeeded")

    def starttls_send_plain_and_login(self, server: ServerProcess) -> None:
        for mechanism in ("PLAIN", "LOGIN"):
            with self.connect_starttls(server, authenticate=False) as client:
                client.ehlo()
                client.user, client.password = USER, PASSWORD
                authobject = client.auth_plain if mechanism == "PLAIN" else client.auth_login
                code, _ = client.auth(mechanism, authobject)
                expect_equal(code, 235, f"AUTH {mechanism} reply code")
                refused = self.send_and_record(client, "sender@example.com", ["receiver@example.com"], "starttls")
                expect_equal(refused, {}, "refused recipients")

    def implicit_tls_against_starttls_port(self, server: ServerProcess) -> None:
        try:
            smtplib.SMTP_SSL(HOST, server.ports["starttls"], timeout=CLIENT_TIMEOUT, context=self.client_context)
        except ssl.SSLError:
            return
        raise CheckFailed("implicit TLS on the starttls port did not fail")

    # Checks: tls listener ---------------------------------------------------------------

    def tls_without_auth(self, server: ServerProcess) -> None:
        with self.connect_tls(server, authenticate=False, host="localhost") as client:
            client.ehlo()
            expect(not client.has_extn("starttls"), "STARTTLS is advertised on the tls listener")
            mechanisms = client.esmtp_features.get("auth", "").split()
            expect("PLAIN" in mechanisms and "LOGIN" in mechanisms, f"AUTH mechanisms: {mechanisms}")
            code, _ = client.docmd("MAIL FROM:<sender@example.com>")
            expect_equal(code, 530, "MAIL without AUTH")

    def tls_send(self, server: ServerProcess) -> None:
        with self.connect_tls(server) as client:
            refused = self.send_and_record(client, "", ["receiver@example.com", "second@example.com"], "tls")
            expect_equal(refused, {}, "refused recipients")

    def tls_wrong_password(self, server: ServerProcess) -> None:
        with self.connect_tls(server, authenticate=False) as client:
            try:
                client.login(USER, "wrong-password")
            except smtplib.SMTPAuthenticationError as error:
                expect_equal(error.smtp_code, 535, "reply code")
            else:
                raise CheckFailed("login with a wrong password succeeded")

    # Checks: plain listener -------------------------------------------------------------

    def plain_listener(self, server: ServerProcess) -> None:
        with smtplib.SMTP(HOST, server.ports["plain"], local_hostname="selftest.example", timeout=CLIENT_TIMEOUT) as client:
            code, _ = client.ehlo()
            expect_equal(code, 250, "EHLO reply code")
            expect(not client.has_extn("starttls"), "STARTTLS is advertised")
            expect(not client.has_extn("auth"), "AUTH is advertised")
            code, _ = client.docmd("MAIL FROM:<sender@example.com>")
            expect_equal(code, 530, "MAIL reply code")
            code, _ = client.docmd("AUTH PLAIN " + base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode())
            expect(code != 235, "AUTH succeeded in plain text")
            code, _ = client.docmd("STARTTLS")
            expect(code != 220, "STARTTLS was accepted")

    # Checks: scripted recipients --------------------------------------------------------

    def scripted_rcpt(self, server: ServerProcess, address: str, expected: tuple[int, bytes]) -> None:
        with self.connect_tls(server) as client:
            client.mail("sender@example.com")
            expect_equal(client.rcpt(address), expected, f"RCPT TO:<{address}>")
            client.rset()

    def reject_mixed_recipients(self, server: ServerProcess) -> None:
        with self.connect_starttls(server) as client:
            recipients = ["kept@example.com", "reject-mixed@example.com"]
            refused = self.send_and_record(client, "sender@example.com", recipients, "starttls",
                                           accepted=["kept@example.com"])
            expect_equal(refused, {"reject-mixed@example.com": (550, b"5.1.1 mailbox unavailable")}, "refused")

    def close_at_rcpt(self, server: ServerProcess) -> None:
        client = self.connect_tls(server)
        try:
            client.mail("sender@example.com")
            expect_equal(client.rcpt("close-1@example.com"), (421, b"4.7.0 closing connection"), "RCPT reply")
            expect_disconnected(client, "after 421")
        finally:
            client.close()

    def drop_after_data(self, server: ServerProcess) -> None:
        client = self.connect_tls(server)
        try:
            client.mail("sender@example.com")
            expect_equal(client.rcpt("drop-1@example.com"), (250, b"OK"), "RCPT reply")
            code, _ = client.data(MESSAGE)
            expect_equal(code, 250, "DATA reply")
            self.expected_messages.append((MESSAGE, {
                "mail_from": "sender@example.com", "rcpt_tos": ["drop-1@example.com"], "auth_user": USER,
                "listener": "tls", "tls": True,
            }))
            expect_disconnected(client, "after DATA for drop-")
        finally:
            client.close()

    def flaky(self, server: ServerProcess) -> None:
        address = f"flaky-2-{uuid.uuid4().hex[:8]}@example.com"
        replies = []
        for _ in range(4):
            with self.connect_starttls(server) as client:
                client.mail("sender@example.com")
                replies.append(client.rcpt(address))
                client.rset()
        expected = [(451, b"4.3.0 try again")] * 2 + [(250, b"OK")] * 2
        expect_equal(replies, expected, f"replies for {address}")

        other = f"flaky-0-{uuid.uuid4().hex[:8]}@example.com"
        with self.connect_starttls(server) as client:
            client.mail("sender@example.com")
            expect_equal(client.rcpt(other), (250, b"OK"), f"first reply for {other}")

    def stall(self, server: ServerProcess) -> None:
        stalled = self.connect_tls(server)
        stalled.sock.settimeout(STALL_CLIENT_TIMEOUT)
        try:
            stalled.mail("sender@example.com")
            expect_equal(stalled.rcpt("stall-1@example.com"), (250, b"OK"), "RCPT reply")
            started = time.monotonic()
            stalled.putcmd("data")
            try:
                reply = stalled.getreply()
            except (TimeoutError, socket.timeout, smtplib.SMTPServerDisconnected) as error:
                waited = time.monotonic() - started
                expect(waited >= STALL_CLIENT_TIMEOUT * 0.9, f"DATA failed after {waited:.1f} s: {error!r}")
            else:
                raise CheckFailed(f"DATA got a reply: {reply!r}")

            # Other sessions are served while one is stalled.
            with self.connect_starttls(server) as other:
                refused = self.send_and_record(other, "sender@example.com", ["during-stall@example.com"], "starttls")
                expect_equal(refused, {}, "refused recipients during the stall")
        finally:
            stalled.close()

    # Checks: stored messages and log ----------------------------------------------------

    def stored_messages(self, server: ServerProcess) -> None:
        names = sorted(os.listdir(server.outdir))
        count = len(self.expected_messages)
        expected_names = sorted([f"{n:06d}.eml" for n in range(1, count + 1)] + [f"{n:06d}.json" for n in range(1, count + 1)])
        expect_equal(names, expected_names, "files in the output directory")
        for number, (content, metadata) in enumerate(self.expected_messages, start=1):
            eml = (server.outdir / f"{number:06d}.eml").read_bytes()
            expect_equal(eml, content, f"{number:06d}.eml bytes")
            stored = json.loads((server.outdir / f"{number:06d}.json").read_text())
            expect_equal(stored, metadata, f"{number:06d}.json")

    def log_has_no_secret(self, server: ServerProcess) -> None:
        text = server.log_text()
        expect(text.strip() != "", "the server log is empty")
        secrets = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
                   base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()]
        for secret in secrets:
            expect(secret not in text, f"the server log contains the secret {secret!r}")

    def json_line(self, server: ServerProcess) -> None:
        expect(server.json_line.endswith(b"\n"), "the JSON line does not end with a newline")
        expect_equal(sorted(server.ports), ["plain", "starttls", "tls"], "JSON keys")
        for name, port in server.ports.items():
            expect(isinstance(port, int) and 0 < port < 65536, f"port of {name}: {port!r}")
        expect_equal(len(set(server.ports.values())), 3, "number of distinct ports")

    def exits_cleanly(self, server: ServerProcess, signal_number: int) -> None:
        expect_equal(server.stop(signal_number), 0, f"exit status after {signal.Signals(signal_number).name}")

    # Checks: certificates ---------------------------------------------------------------

    def s_client(self, port: int, *extra: str) -> str:
        command = ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-CAfile", str(self.certs / "ca.pem"), *extra]
        result = subprocess.run(command, input=b"", capture_output=True, timeout=30)
        return (result.stdout + result.stderr).decode(errors="replace")

    def s_client_verifies(self, server: ServerProcess) -> None:
        output = self.s_client(server.ports["tls"], "-verify_hostname", "localhost")
        expect("Verify return code: 0 (ok)" in output, f"tls listener:\n{output}")
        output = self.s_client(server.ports["starttls"], "-starttls", "smtp", "-verify_ip", HOST)
        expect("Verify return code: 0 (ok)" in output, f"starttls listener:\n{output}")

    def expired_certificate(self, server: ServerProcess) -> None:
        output = self.s_client(server.ports["tls"])
        expect("Verify return code: 10 (certificate has expired)" in output, f"s_client output:\n{output}")
        try:
            self.connect_tls(server, authenticate=False).close()
        except ssl.SSLCertVerificationError as error:
            expect_equal(error.verify_message, "certificate has expired", "Python ssl verify message")
        else:
            raise CheckFailed("Python ssl accepted the expired certificate")

    def wrong_host_certificate(self, server: ServerProcess) -> None:
        output = self.s_client(server.ports["tls"], "-verify_hostname", "localhost")
        expect("Verify return code: 62 (hostname mismatch)" in output, f"s_client output:\n{output}")
        try:
            self.connect_tls(server, authenticate=False, host="localhost").close()
        except ssl.SSLCertVerificationError as error:
            expect("Hostname mismatch" in error.verify_message, f"Python ssl verify message: {error.verify_message!r}")
        else:
            raise CheckFailed("Python ssl accepted a certificate for other.example as localhost")

    def greeting_delay(self, server: ServerProcess) -> None:
        for listener in ("starttls", "plain"):
            started = time.monotonic()
            with smtplib.SMTP(HOST, server.ports[listener], timeout=CLIENT_TIMEOUT) as client:
                waited = time.monotonic() - started
                expect(waited >= GREETING_DELAY * 0.9, f"{listener}: greeting after {waited:.2f} s")
                client.ehlo()
        started = time.monotonic()
        with self.connect_tls(server, authenticate=False):
            waited = time.monotonic() - started
            expect(waited >= GREETING_DELAY * 0.9, f"tls: greeting after {waited:.2f} s")

    def short_greeting_timeout(self, server: ServerProcess) -> None:
        try:
            smtplib.SMTP(HOST, server.ports["starttls"], timeout=GREETING_DELAY / 3)
        except (TimeoutError, socket.timeout, smtplib.SMTPServerDisconnected):
            return
        raise CheckFailed("a client with a timeout shorter than the greeting delay connected")

    # Run --------------------------------------------------------------------------------

    def run(self) -> None:
        main = self.start_server("main", "server")
        self.check("JSON line format", self.json_line, main)

        self.check("starttls: plain text before STARTTLS", self.starttls_before_tls, main)
        self.check("starttls: AUTH offered after STARTTLS", self.starttls_after_tls, main)
        self.check("starttls: wrong credentials get 535", self.wrong_credentials, main)
        self.check("starttls: send with PLAIN and LOGIN", self.starttls_send_plain_and_login, main)
        self.check("starttls: implicit TLS fails at once", self.implicit_tls_against_starttls_port, main)

        self.check("tls: AUTH offered, MAIL needs AUTH", self.tls_without_auth, main)
        self.check("tls: send with null sender", self.tls_send, main)
        self.check("tls: wrong password gets 535", self.tls_wrong_password, main)

        self.check("plain: no STARTTLS, no AUTH, MAIL 530", self.plain_listener, main)

        self.check("reject- gets 550", self.scripted_rcpt, main, "reject-1@example.com", (550, b"5.1.1 mailbox unavailable"))
        self.check("Reject- matches any case", self.scripted_rcpt, main, "Reject-Upper@example.com", (550, b"5.1.1 mailbox unavailable"))
        self.check("defer- gets 451", self.scripted_rcpt, main, "defer-1@example.com", (451, b"4.7.1 try again later"))
        self.check("reject- with an accepted recipient", self.reject_mixed_recipients, main)
        self.check("close- gets 421 and disconnects", self.close_at_rcpt, main)
        self.check("drop- is stored, then disconnected", self.drop_after_data, main)
        self.check("flaky-N- fails N times", self.flaky, main)
        self.check("stall- never answers DATA", self.stall, main)

        self.check("stored .eml and .json", self.stored_messages, main)
        self.check("s_client verifies both listeners", self.s_client_verifies, main)
        self.check("log has no password", self.log_has_no_secret, main)
        self.check("SIGTERM exits with 0", self.exits_cleanly, main, signal.SIGTERM)

        expired = self.start_server("expired", "expired")
        self.check("expired certificate is reported", self.expired_certificate, expired)
        self.check("SIGINT exits with 0", self.exits_cleanly, expired, signal.SIGINT)

        wronghost = self.start_server("wronghost", "wronghost")
        self.check("wrong host name is reported", self.wrong_host_certificate, wronghost)
        wronghost.stop()

        delayed = self.start_server("delayed", "server", "--greeting-delay", str(GREETING_DELAY))
        self.check("greeting delay on all listeners", self.greeting_delay, delayed)
        self.check("greeting delay trips client timeout", self.short_greeting_timeout, delayed)
        delayed.stop()


def run_setup(certs: Path) -> str:
    result = subprocess.run([str(HERE / "setup"), "--certs", str(certs)], stdout=subprocess.PIPE, check=False)
    if result.returncode != 0:
        sys.exit(f"selftest: setup failed with exit status {result.returncode}")
    return result.stdout.decode().strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description="Check the test SMTP server against smtplib and openssl s_client.")
    parser.add_argument("--certs", type=Path, help="certificate directory for setup (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory with the logs and messages")
    arguments = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tayori-smtp-selftest-"))
    certs = arguments.certs.resolve() if arguments.certs else workdir / "certs"
    python = run_setup(certs)

    test = SelfTest(python, certs, workdir)
    try:
        test.run()
    except CheckFailed as error:
        test.failed += 1
        print(f"FAIL setup of a server: {error}", flush=True)
    finally:
        test.stop_all()

    if test.failed or arguments.keep:
        print(f"logs and messages kept in {workdir}")
    else:
        shutil.rmtree(workdir)
    print(f"{test.passed} passed, {test.failed} failed")
    return 1 if test.failed else 0


if __name__ == "__main__":
    sys.exit(main())
