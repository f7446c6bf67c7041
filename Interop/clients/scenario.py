"""What the client-library scenario scripts (nbxmpp_scenario.py, aioxmpp_scenario.py) share:
their command line, the step failure they raise, and the record of their steps (one JSON
line per step, the summary line, the exit status). Standard library only: the scripts
import it before their library, from their own directory (which `python3 script.py`
puts on sys.path).

The output runner.py reads: one JSON object per step, in order,
    {"step": NAME, "ok": true|false, "skipped": bool, "detail": {...}, "error": TEXT, "seconds": S}
then {"summary": {"passed": [...], "failed": [...], "skipped": [...]}}; or, when the
library does not import, a single {"fatal": TEXT} and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback


class ScenarioError(Exception):
    """A step's check failed (its message is the step's error, without a traceback)."""


def check(condition, message, **evidence):
    if not condition:
        raise ScenarioError(message + ("; " + json.dumps(evidence, default=str) if evidence else ""))


def timed_out(what, timeout):
    return ScenarioError(f"timed out after {timeout:.0f} s waiting for {what}")


def polling(predicate, what, timeout):
    """The deadline of a wait for predicate() to return something true, whatever loop the
    caller runs in between: yields None while it is false (the caller lets its loop run a
    little), then that value; raises ScenarioError after timeout seconds.

        for value in polling(predicate, what, timeout):
            if value:
                return value
            ...   # run the loop a little
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            yield value
            return
        if time.monotonic() > deadline:
            raise timed_out(what, timeout)
        yield None


def cannot_import(library, error):
    """The library does not import under this interpreter: say so and exit with status 2."""
    print(json.dumps({"fatal": f"cannot import {library} under {sys.executable}: {error}"}), flush=True)
    print(f"{library}_scenario: cannot import {library} under {sys.executable}: {error} "
          f"(install python3-{library} and run with /usr/bin/python3)", file=sys.stderr)
    sys.exit(2)


_COUNT = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def parse_args(argv, *, description, roles, room_jid, options=()):
    """The common command line. roles: what each --account is for, in order (that many
    are required); room_jid: the library's JID parser (the result has localpart, domain
    and resource); options: the script's own (flags, keyword arguments) pairs, added after
    the common ones. args.accounts is the list of (user, password)."""
    count = _COUNT.get(len(roles), str(len(roles)))
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1", help="the server's c2s address")
    parser.add_argument("--port", type=int, required=True, help="the server's c2s port")
    parser.add_argument("--domain", default="localhost", help="the accounts' domain")
    parser.add_argument("--account", action="append", default=[], metavar="USER=PASSWORD",
                        help=f"{count}: {', '.join(roles)}")
    parser.add_argument("--room", required=True, help="the room JID to create (must not exist)")
    parser.add_argument("--service", required=True, help="the MUC service domain")
    parser.add_argument("--timeout", type=float, default=15.0, help="bound of every wait (s)")
    for flags, keywords in options:
        parser.add_argument(*flags, **keywords)
    args = parser.parse_args(argv)
    accounts = []
    for spec in args.account:
        user, sep, password = spec.partition("=")
        if not sep or not user:
            parser.error(f"--account {spec!r}: want USER=PASSWORD")
        accounts.append((user, password))
    if len(accounts) < len(roles):
        parser.error(f"give {count} --account USER=PASSWORD")
    args.accounts = accounts
    room = room_jid(args.room)
    if room.resource or not room.localpart or room.domain != args.service:
        parser.error(f"--room {args.room!r} is not a bare room JID at {args.service}")
    return args


class Results:
    """The steps' records, printed as they end. A script's step runner (synchronous or
    async) does:

        if results.ready(name, needs):
            with results.step(name) as detail:
                function(detail)          # or: await function(detail)
    """

    def __init__(self, program):
        self.program = program   # the prefix of the messages on stderr
        self.records = []
        self.failed = set()

    def emit(self, record):
        print(json.dumps(record, default=str), flush=True)
        self.records.append(record)

    def ready(self, name, needs=()):
        """False (and the step is recorded as skipped) when a step it needs did not pass."""
        missing = [n for n in needs if n in self.failed]
        if missing:
            self.failed.add(name)
            self.emit({"step": name, "ok": False, "skipped": True, "detail": {},
                       "error": f"not run: needs {', '.join(missing)}", "seconds": 0})
        return not missing

    def step(self, name):
        return _Step(self, name)

    def summary(self):
        """Print the summary line; the exit status: 0 when every step passed, else 1."""
        passed = [r["step"] for r in self.records if r["ok"]]
        failed = [r["step"] for r in self.records if not r["ok"] and not r["skipped"]]
        skipped = [r["step"] for r in self.records if r["skipped"]]
        print(json.dumps({"summary": {"passed": passed, "failed": failed, "skipped": skipped}}),
              flush=True)
        return 0 if not failed and not skipped else 1


class _Step:
    """Times one step and records how it ended: a ScenarioError is its failure, any other
    Exception (the library raised) too, with a short traceback; both are swallowed."""

    def __init__(self, results, name):
        self.results, self.name = results, name

    def __enter__(self):
        self.started = time.monotonic()
        self.detail = {}
        return self.detail

    def __exit__(self, kind, failure, trace):
        if failure is None:
            error = None
        elif isinstance(failure, ScenarioError):
            error = str(failure)
        elif isinstance(failure, Exception):
            error = (f"{kind.__name__}: {failure}\n"
                     + "".join(traceback.format_exception(kind, failure, trace, limit=4)))
        else:   # KeyboardInterrupt, a cancelled task: not the step's doing
            return False
        if error is not None:
            self.results.failed.add(self.name)
            print(f"{self.results.program}: step {self.name} failed: {error}", file=sys.stderr,
                  flush=True)
        self.results.emit({"step": self.name, "ok": error is None, "skipped": False,
                           "detail": self.detail, "error": error,
                           "seconds": round(time.monotonic() - self.started, 2)})
        return True
