"""`vpyb test`: one command for a CI job.  A fresh virtual board (or, with
--port, a real one, soft-reset), files uploaded, a script run, what the board
prints checked as it comes; the verdict is the exit code:

    0  pass: the script ended (or every --expect-* was seen), no --fail-text
    1  fail: the script raised, a --fail-text was seen, an --expect-* was not
    2  error: the board did not start, reset mid-run (a crash), the run timed
       out, an upload or the port failed; the message says which

The board's output goes to stdout as it comes, and to --serial-log; a
verdict other than pass ends with the log's last lines.  --junit writes
JUnit XML for the CI's test report.  The board is VirtualBoard in this
process: a fresh board's start-up, milliseconds, not a process per job.
"""
from __future__ import annotations

import argparse
import codecs
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from vpyb.device.board import VirtualBoard
    from vpyb.protocol.board_files import BoardFiles
    from vpyb.protocol.raw_repl import RawRepl

PASS, FAIL, ERROR = 0, 1, 2
DEFAULT_TIMEOUT = 30.0  # seconds, as Wokwi's CLI
TAIL_LINES = 20
VERDICT_WORDS = {PASS: "PASS", FAIL: "FAIL", ERROR: "ERROR"}
# `vpyb run`'s options (cli.py): a virtual board's, meaningless with --port.
VIRTUAL_ONLY = ("state", "ephemeral", "link", "heap", "flash", "fs", "micropython", "tcp", "rfc2217",
                "listen", "reset_on", "freeze", "board", "unconfined")
# Characters XML 1.0 can't carry (a board prints any byte).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The job's options; the board's are `vpyb run`'s (cli.py)."""
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("script", nargs="?", metavar="SCRIPT", help="a script to run on the board")
    what.add_argument("-c", dest="code", metavar="CODE", help="code to run instead of a script")
    p.add_argument("--put", action="append", default=[], metavar="LOCAL[:REMOTE]",
                   help="upload a file or folder first (repeatable); REMOTE is its path on the "
                        "board, default /flash/NAME, relative paths are under /flash")
    p.add_argument("--expect-text", action="append", default=[], metavar="TEXT",
                   help="pass only once the board printed TEXT (repeatable: all of them); "
                        "the run stops once all are seen")
    p.add_argument("--expect-regex", action="append", default=[], metavar="REGEX", type=_regex,
                   help="like --expect-text, a Python regular expression")
    p.add_argument("--fail-text", action="append", default=[], metavar="TEXT",
                   help="fail as soon as the board prints TEXT (repeatable)")
    p.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"the run's time limit, then it is interrupted: an error "
                        f"(default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--serial-log", metavar="FILE", help="write everything the board printed to FILE")
    p.add_argument("--junit", metavar="FILE", help="write the verdict as JUnit XML to FILE")
    p.add_argument("--port", metavar="PORT",
                   help="run on the real board on PORT (a device or pyserial URL) instead")


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as e:
        raise argparse.ArgumentTypeError(f"not a regular expression: {e}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


@dataclass
class Verdict:
    code: int  # PASS, FAIL, ERROR
    reason: str  # one line, for people
    kind: str = ""  # an error's or failure's kind, for JUnit: start, crash, timeout...


class Watch:
    """What the board prints, kept for the log and checked as it comes."""

    def __init__(self, expect_text: list[str], expect_regex: list[re.Pattern[str]],
                 fail_text: list[str], echo: Callable[[bytes], None]) -> None:
        self.log = bytearray()
        self.text = ""
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        self._echo = echo
        self.expected = bool(expect_text or expect_regex)
        self.missing: list[str | re.Pattern[str]] = [*expect_text, *expect_regex]
        self._fail_text = fail_text
        self.failed_on: str | None = None

    def feed(self, chunk: bytes) -> bool:
        """Takes what the board printed; True once the run may stop: a fail
        text was seen, or every expected one."""
        self.log += chunk
        self._echo(chunk)
        self.text += self._decode(chunk)
        for text in self._fail_text:
            if text in self.text:
                self.failed_on = text
                return True
        self.missing = [m for m in self.missing
                        if (m not in self.text if isinstance(m, str) else not m.search(self.text))]
        return self.expected and not self.missing

    def tail(self, lines: int = TAIL_LINES) -> str:
        return "\n".join(self.text.replace("\r\n", "\n").splitlines()[-lines:])


def _describe(m: str | re.Pattern[str]) -> str:
    return f"text {m!r}" if isinstance(m, str) else f"regex {m.pattern!r}"


def judge(err: bytes, watch: Watch, stopped_early: bool) -> Verdict:
    """The verdict on a run that ended, from its error text and output."""
    from vpyb.protocol.constants import RUN_CUT_SHORT

    if err.startswith(RUN_CUT_SHORT):
        return Verdict(ERROR, "the board reset mid-run: " + err[len(RUN_CUT_SHORT):].decode(
            errors="replace").strip(), "crash")
    if watch.failed_on is not None:
        return Verdict(FAIL, f"fail text {watch.failed_on!r} seen", "fail-text")
    if stopped_early:  # every expected text seen: the run was stopped, its KeyboardInterrupt is ours
        return Verdict(PASS, "every expected output seen")
    if err:
        lines = err.decode(errors="replace").strip().splitlines()
        return Verdict(FAIL, f"the script raised {lines[-1] if lines else 'an error'}", "exception")
    if watch.missing:
        return Verdict(FAIL, "not seen: " + ", ".join(map(_describe, watch.missing)), "expect")
    return Verdict(PASS, "the script ended" + (", every expected output seen" if watch.expected else ""))


def upload(files: BoardFiles, local: Path, remote: str) -> None:
    """A file, or a folder and everything in it, to `remote` on the board."""
    if local.is_dir():
        files.mkdir(remote)
        for path in sorted(local.rglob("*")):
            target = f"{remote.rstrip('/')}/{path.relative_to(local).as_posix()}"
            if path.is_dir():
                files.mkdir(target)
            else:
                files.put(path, target)
    else:
        parent = remote.rsplit("/", 1)[0]
        if parent not in ("", "/flash"):
            files.mkdir(parent)
        files.put(local, remote)


def parse_put(spec: str) -> tuple[Path, str]:
    """LOCAL[:REMOTE] -> (local path, absolute path on the board)."""
    local, _, remote = spec.partition(":")
    path = Path(local)
    remote = remote or path.resolve().name
    return path, remote if remote.startswith("/") else f"/flash/{remote}"


def run_job(repl: RawRepl, puts: list[tuple[Path, str]], code: str, timeout: float,
            watch: Watch) -> Verdict:
    """Uploads, soft-resets, runs, judges (the board at its raw prompt)."""
    from vpyb.protocol.board_files import BoardFiles
    from vpyb.protocol.raw_repl import RemoteError, RunTimeout

    files = BoardFiles(repl)
    for local, remote in puts:
        try:
            upload(files, local, remote)
        except RemoteError as e:
            return Verdict(ERROR, f"upload of {local} to {remote} failed: {e}", "upload")
    if puts:  # the script starts a session of its own, its heap a fresh one's, boot.py run
        repl.enter(soft_reset=True)
    stop_asked = False

    def seen(chunk: bytes) -> bool:
        nonlocal stop_asked
        stop_asked = stop_asked or watch.feed(chunk)
        return stop_asked

    try:
        _, err = repl.exec_raw(code, seen, timeout)
    except RunTimeout as e:
        also = "; not seen: " + ", ".join(map(_describe, watch.missing)) if watch.missing else ""
        return Verdict(ERROR, f"timeout: {e}{also}", "timeout")
    return judge(err, watch, stop_asked and watch.failed_on is None)


def write_junit(path: str, name: str, verdict: Verdict, seconds: float, watch: Watch) -> None:
    import xml.etree.ElementTree as ET

    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name="vpyb", tests="1",
                          failures=str(int(verdict.code == FAIL)), errors=str(int(verdict.code == ERROR)),
                          skipped="0", time=f"{seconds:.3f}")
    case = ET.SubElement(suite, "testcase", classname="vpyb.test", name=name, time=f"{seconds:.3f}")
    if verdict.code != PASS:
        tag = "failure" if verdict.code == FAIL else "error"
        ET.SubElement(case, tag, message=_xml(verdict.reason), type=verdict.kind).text = _xml(watch.tail())
    ET.SubElement(case, "system-out").text = _xml(watch.text.replace("\r\n", "\n"))
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _echo(chunk: bytes) -> None:
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.port:
        parser = args.parser
        given = [name for name in VIRTUAL_ONLY if getattr(args, name) != parser.get_default(name)]
        if given:  # exits 2
            parser.error(f"argument --port: not with --{given[0].replace('_', '-')} "
                         "(a real board has its own firmware, wiring and flash)")
    try:
        puts = [parse_put(spec) for spec in args.put]
        for local, _ in puts:
            if not local.exists():
                raise OSError(f"--put {local}: no such file or folder")
        code = args.code if args.script is None else Path(args.script).read_text()
    except (OSError, UnicodeDecodeError) as e:
        print(f"vpyb test: {e}", file=sys.stderr)
        return ERROR
    watch = Watch(args.expect_text, args.expect_regex, args.fail_text, _echo)
    verdict = _on_a_board(args, lambda repl: run_job(repl, puts, code, args.timeout, watch))
    seconds = time.monotonic() - started
    if args.serial_log:
        Path(args.serial_log).write_bytes(bytes(watch.log))
    if args.junit:
        write_junit(args.junit, args.script or "-c", verdict, seconds, watch)
    if watch.log and not watch.log.endswith(b"\n"):
        _echo(b"\r\n")
    word = VERDICT_WORDS[verdict.code] + (f" ({verdict.kind})" if verdict.code == ERROR else "")
    print(f"vpyb test: {word}: {verdict.reason} ({seconds:.2f} s)", file=sys.stderr)
    if verdict.code != PASS and watch.log:
        where = f" ({args.serial_log})" if args.serial_log else ""
        print(f"--- the board's last lines{where} ---\n{watch.tail()}", file=sys.stderr)
    return verdict.code


def _on_a_board(args: argparse.Namespace, job: Callable[[RawRepl], Verdict]) -> Verdict:
    """Runs the job on a fresh virtual board, or on the real board at --port
    after a soft reset; an error if the board can't be had."""
    from vpyb.protocol.raw_repl import RawRepl, ReplError

    board = None
    try:
        if args.port:
            from vpyb.host_tools.ports import open_exclusive

            repl = RawRepl(open_exclusive(args.port))  # locked as mpremote locks it
            soft_reset = True
        else:
            board = _virtual_board(args)
            repl = RawRepl(board.port)
            soft_reset = False  # it is fresh
    except Exception as e:  # any reason the board didn't start is the verdict
        if board is not None:
            board.stop()
        return Verdict(ERROR, f"the board did not start: {e}", "start")
    try:
        repl.enter(soft_reset=soft_reset)
        return job(repl)
    except ReplError as e:
        return Verdict(ERROR, f"the board stopped answering: {e}", "port")
    except OSError as e:  # pyserial's SerialException too: a real board's USB gone (a reset, a crash)
        return Verdict(ERROR, f"the port failed: {e}", "port")
    finally:
        try:
            repl.close()
        except OSError:
            pass
        if board is not None:
            board.stop()


def _virtual_board(args: argparse.Namespace) -> VirtualBoard:
    from vpyb.device.board import BoardError, VirtualBoard
    from vpyb.host_tools.cli import micropython_problem

    if args.micropython and (problem := micropython_problem(args.micropython)):
        raise BoardError(problem)
    board = VirtualBoard(args.state, ephemeral=not args.state, heap=args.heap, fs=args.fs,
                         flash_size=args.flash, micropython=args.micropython, link=args.link,
                         tcp=args.tcp, rfc2217=args.rfc2217, listen=args.listen or "127.0.0.1",
                         reset_on=args.reset_on, freeze=args.freeze, confine=not args.unconfined)
    try:
        if args.board:
            from vpyb.device.board_file import wire

            wire(board.hardware, args.board, lambda msg: print(f"vpyb: {msg}", file=sys.stderr))
        return board.start()
    except Exception:
        board.stop()
        raise
