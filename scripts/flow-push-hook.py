#!/usr/bin/env python3
"""Flow push hook: posts one Flow event per pushed branch or tag of a git or Mercurial server repository.

git:        hooks/post-receive of a bare repository (reads "<old> <new> <ref>" lines on stdin).
Mercurial:  [hooks] changegroup.flow = python3 /path/to/flow-push-hook.py --hg   (in the server repo's .hg/hgrc)

Each event goes to POST <FLOW_URL>/events/<source>/<type> with an Idempotency-Key derived from the repository, ref
and old and new ids, so running the hook twice for the same push never starts a second release. The body has the
shape Flow's GitHub and GitLab webhook adapters produce for a push. See scripts/README.md.

Standard library only: git and Mercurial servers may have no Node.js. Refs, branch names and commit messages are
untrusted data: they are passed to git and hg only as separate arguments or on stdin, never through a shell.
"""

import argparse
import hashlib
import http.client
import json
import os
import pwd
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email.utils import parsedate_to_datetime

# The same limits as gateway/webhooks/adapters/payload-fields.ts.
MESSAGE_MAX = 1000  # longest commit message, in UTF-16 units
NAME_MAX = 200  # longest ref, repository or user name
LIST_MAX = 100  # most commits per event

EVENT_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
GIT_ID = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
HG_NODE = re.compile(r"[0-9a-f]{40}")
TOKEN = re.compile(r"[\x21-\x7e]+")

DEFAULT_TIMEOUT = 10.0  # seconds per request
DEFAULT_RETRIES = 3  # retries after the first attempt, for connection errors, 429 and 5xx
DEFAULT_MAX_REFS = 100  # a push updating more refs than this (a mirror or an import) sends nothing
RETRY_AFTER_CAP = 30.0  # longest wait honoured from a Retry-After header, in seconds
USER_AGENT = "flow-push-hook/1"


class HookError(Exception):
    """A failure to report to the pusher in one line; `exit_code` 2 means configuration, 1 anything else."""

    def __init__(self, message, exit_code=1):
        super().__init__(message)
        self.exit_code = exit_code


class SendError(Exception):
    """Flow did not accept an event. `fatal` means the remaining events would fail the same way (auth, network)."""

    def __init__(self, message, fatal):
        super().__init__(message)
        self.fatal = fatal


# ---------------------------------------------------------------------------------------------------------------
# Small pure helpers


def cap(text, limit):
    """Cuts `text` to `limit` UTF-16 units without splitting a character, as the gateway adapters' cap() does."""
    if len(text) <= limit // 2:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


def printable(value, limit=120):
    """An untrusted value made safe for the pusher's terminal: control characters replaced, length capped."""
    cleaned = re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", value)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def ref_parts(ref):
    """The branch or tag a ref names, as refParts() in the adapters: both None for other refs."""
    if ref.startswith("refs/heads/"):
        return ref[len("refs/heads/") :], None
    if ref.startswith("refs/tags/"):
        return None, ref[len("refs/tags/") :]
    return None, None


def idempotency_key(event_type, repository, ref, before, after):
    """A stable key for one ref update: the same push sent again is deduplicated by the gateway."""
    material = "\0".join(["flow-push-hook/1", repository, ref, before, after])
    return "%s-%s" % (event_type, hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()[:48])


def email_of(user):
    """The address in `Name <address>`, or the whole string when there is none (Mercurial's `email` filter)."""
    start, end = user.find("<"), user.find(">")
    if start != -1 and end > start:
        return user[start + 1 : end].strip()
    return user.strip()


def commit_entry(commit_id, message, author):
    """One commit in the adapters' shape `{id, message, author}`, author being the e-mail address."""
    message = message.rstrip("\n")
    return {
        "id": commit_id,
        "message": cap(message, MESSAGE_MAX) if message else None,
        "author": cap(author, NAME_MAX) if author else None,
    }


def push_body(ref, before, after, repository, pusher, commits, total, created, deleted, forced):
    """An event body with the fields of the GitHub push adapter (plus `user` as GitLab names the pusher)."""
    capped_ref = cap(ref, NAME_MAX)
    branch, tag = ref_parts(capped_ref)
    return {
        "ref": capped_ref,
        "branch": branch,
        "tag": tag,
        "before": before,
        "after": after,
        "repository": cap(repository, NAME_MAX) if repository else None,
        "pusher": pusher,
        "user": pusher,
        "commits": commits,
        "total_commits_count": total,
        "created": created,
        "deleted": deleted,
        "forced": forced,
    }


def detect_pusher():
    """Who pushed: what the git or hg server put in the environment, else the account the hook runs as."""
    for name in ("FLOW_PUSHER", "GL_USERNAME", "GL_USER", "GITEA_PUSHER_NAME", "REMOTE_USER", "USER", "LOGNAME"):
        value = os.environ.get(name, "").strip()
        if value:
            return cap(value, NAME_MAX)
    try:
        return cap(pwd.getpwuid(os.getuid()).pw_name, NAME_MAX)
    except (KeyError, OSError):
        return None


# ---------------------------------------------------------------------------------------------------------------
# Running git and hg


def run(argv, stdin=None, env=None, ok_codes=(0,)):
    """Runs a command from an argv list (never a shell) and returns (code, stdout); other codes are a HookError."""
    try:
        done = subprocess.run(
            argv,
            input=stdin.encode("utf-8", "surrogateescape") if stdin is not None else None,
            capture_output=True,
            env=env,
            check=False,
        )
    except OSError as error:
        raise HookError("cannot run %s: %s" % (argv[0], error.strerror or error))
    if done.returncode not in ok_codes:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise HookError(
            "%s %s failed (exit %d)%s"
            % (argv[0], argv[1], done.returncode, ": " + printable(detail[-1], 200) if detail else "")
        )
    return done.returncode, done.stdout.decode("utf-8", "surrogateescape")


class Git:
    """The git repository the hook runs in (post-receive runs in the repository with GIT_DIR set)."""

    kind = "git"

    def __init__(self):
        self.settings = None

    def config(self, key):
        if self.settings is None:  # one call reads every flow.* key; git lower-cases the names
            code, out = run(["git", "config", "-z", "--get-regexp", r"^flow\."], ok_codes=(0, 1))
            self.settings = {}
            for entry in out.split("\0") if code == 0 else []:
                name, _, value = entry.partition("\n")
                self.settings[name.lower()] = value.strip()
        return self.settings.get(key.lower()) or None

    def name(self):
        _, out = run(["git", "rev-parse", "--absolute-git-dir"])
        git_dir = os.path.normpath(out.strip())
        base = os.path.basename(git_dir)
        if base == ".git":
            base = os.path.basename(os.path.dirname(git_dir))
        return base[:-4] if base.endswith(".git") and len(base) > 4 else base

    def tips_outside(self, pushed_refs):
        """Commit ids of every ref this push did not touch: what the repository already had."""
        fields = "%(objecttype) %(objectname) %(*objecttype) %(*objectname) %(refname)"
        _, out = run(["git", "for-each-ref", "--format=" + fields])
        tips = set()
        for line in out.splitlines():
            parts = line.split(" ", 4)
            if len(parts) != 5 or parts[4] in pushed_refs:
                continue
            kind, name, peeled_kind, peeled = parts[0], parts[1], parts[2], parts[3]
            if kind == "commit":
                tips.add(name)
            elif kind == "tag" and peeled_kind == "commit":
                tips.add(peeled)
        return tips

    def commits(self, revs):
        """The newest LIST_MAX commits of a rev-list selection, oldest first, and how many it has in total."""
        stdin = "\n".join(revs) + "\n"
        # --ignore-missing: an old id a force push left behind may already be gone; it then simply excludes nothing.
        _, count = run(["git", "rev-list", "--ignore-missing", "--count", "--stdin"], stdin=stdin)
        total = int(count.strip() or "0")
        if total == 0:
            return [], 0
        _, out = run(
            [
                "git",
                "-c",
                "log.showSignature=false",
                "log",
                "--no-color",
                "--ignore-missing",
                "--stdin",
                "--max-count=%d" % LIST_MAX,
                "--reverse",
                "--format=%x00%H%x1f%ae%x1f%B",
            ],
            stdin=stdin,
        )
        commits = []
        for record in out.split("\0")[1:]:
            fields = record.split("\x1f", 2)
            if len(fields) == 3:
                commits.append(commit_entry(fields[0], fields[2], fields[1]))
        return commits, total

    def is_ancestor(self, old, new):
        """Whether `new` descends from `old`; when git cannot tell (say, a tag of a tree), it is not called forced."""
        code, _ = run(["git", "merge-base", "--is-ancestor", old, new], ok_codes=(0, 1, 128))
        return code != 1


def read_git_updates(text):
    """Parses post-receive stdin: one `<old> <new> <ref>` line per updated ref. Malformed lines are reported."""
    updates, problems = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or not GIT_ID.fullmatch(parts[0]) or not GIT_ID.fullmatch(parts[1]) or not parts[2]:
            problems.append("flow: ignored a line that is not `<old> <new> <ref>`: %s" % printable(line))
            continue
        updates.append((parts[0], parts[1], parts[2]))
    return updates, problems


def git_events(repo, updates, repository, pusher):
    """One event per pushed branch or tag; other refs (notes, review refs) are skipped and reported."""
    pushed = {ref for _, _, ref in updates}
    known = None  # commits the repository had before this push, computed once when a ref is created
    events, notes = [], []
    for old, new, ref in updates:
        branch, tag = ref_parts(ref)
        if branch is None and tag is None:
            notes.append("flow: skipped %s (not a branch or tag)" % printable(ref))
            continue
        created, deleted = set(old) == {"0"}, set(new) == {"0"}
        if deleted:
            commits, total = [], 0
        elif created:
            if known is None:
                known = repo.tips_outside(pushed) | {o for o, _, _ in updates if set(o) != {"0"}}
            commits, total = repo.commits([new] + ["^" + tip for tip in sorted(known)])
        else:
            commits, total = repo.commits([new, "^" + old])
        forced = not created and not deleted and not repo.is_ancestor(old, new)
        event_type = "tag_push" if tag is not None else "push"
        events.append(
            {
                "type": event_type,
                "ref": ref,
                "key": idempotency_key(event_type, repository, ref, old, new),
                "body": push_body(ref, old, new, repository, pusher, commits, total, created, deleted, forced),
                "line": "%s %s %s" % (old, new, ref),
            }
        )
    return events, notes


class Hg:
    """The Mercurial repository the hook runs in (hg runs external hooks from the repository root)."""

    kind = "hg"

    def __init__(self):
        self.hg = os.environ.get("HG") or "hg"
        # HGPLAIN keeps user configuration (aliases, defaults, localised output) out of what the hook parses.
        self.env = dict(os.environ, HGPLAIN="1")
        self.settings = None

    def run(self, args, ok_codes=(0,)):
        return run([self.hg] + args, env=self.env, ok_codes=ok_codes)

    def config(self, key):
        if self.settings is None:  # one `hg config flow` call reads the whole [flow] section
            code, out = self.run(["config", "flow"], ok_codes=(0, 1))
            self.settings = {}
            for line in out.splitlines() if code == 0 else []:
                name, sep, value = line.partition("=")
                if sep:
                    self.settings.setdefault(name.strip().lower(), value.strip())
        return self.settings.get(key.lower()) or None

    def name(self):
        return os.path.basename(os.path.normpath(self.run(["root"])[1].strip()))

    def log(self, revset, template):
        return self.run(["log", "-r", revset, "-T", template])[1]

    def changesets(self, nodes):
        """Changeset data for `nodes` (validated hex ids), by node."""
        args = ["log", "-T", "json(node, desc, user, bookmarks, extras)"]
        for node in nodes:
            args += ["-r", node]
        return {entry["node"]: entry for entry in json.loads(self.run(args)[1] or "[]")}


def hg_events(repo, first, last, repository, pusher):
    """One event per named branch the pushed changesets `first`..`last` are on.

    `before` is the branch's tip before the push (what `hg update <branch>` gave), `after` its newest pushed
    changeset; `forced` means the push added a new head instead of extending the old tip. Revsets are built from
    validated hex ids only, never from branch names, and every query covers all branches at once: each hg call
    costs a Python start-up.
    """
    pushed = "%s:%s" % (first, last)
    branches = {}
    for line in repo.log(pushed, "{node} {branch|json}\\n").splitlines():
        node, _, name = line.partition(" ")
        branches.setdefault(json.loads(name), []).append(node)
    befores = {}
    query = " + ".join("max(branch(%s) - (%s))" % (nodes[0], pushed) for nodes in branches.values())
    for line in repo.log(query, "{node} {branch|json}\\n").splitlines():
        node, _, name = line.partition(" ")
        befores[json.loads(name)] = node
    updated = [(befores[branch], nodes[-1]) for branch, nodes in branches.items() if branch in befores]
    query = " + ".join("(%s - ancestors(%s))" % pair for pair in updated)
    not_extended = set(repo.log(query, "{node}\\n").split()) if updated else set()
    shown = {branch: nodes[-LIST_MAX:] for branch, nodes in branches.items()}
    details = repo.changesets([node for nodes in shown.values() for node in nodes])
    events = []
    for branch, nodes in branches.items():
        before = befores.get(branch, "0" * 40)
        after = details.get(nodes[-1], {})
        commits = [
            commit_entry(node, details[node].get("desc", ""), email_of(details[node].get("user", "")))
            for node in shown[branch]
            if node in details
        ]
        ref = "refs/heads/" + branch
        created, forced = branch not in befores, before in not_extended
        deleted = (after.get("extras") or {}).get("close") == "1"  # the newest changeset closes the branch
        body = push_body(ref, before, nodes[-1], repository, pusher, commits, len(nodes), created, deleted, forced)
        body["bookmarks"] = [cap(name, NAME_MAX) for name in after.get("bookmarks", [])]
        events.append(
            {
                "type": "push",
                "ref": ref,
                "key": idempotency_key("push", repository, ref, before, nodes[-1]),
                "body": body,
                "range": (first, last),
            }
        )
    return events


# ---------------------------------------------------------------------------------------------------------------
# Configuration


def setting(repo, env_name, key, path=False):
    """An environment variable, else the repository's `flow.<key>` (git config or the hgrc's [flow] section)."""
    value = os.environ.get(env_name, "").strip()
    if value:
        return value
    value = repo.config("flow." + key)
    return os.path.expanduser(value) if value and path else value


def number_setting(name, default, minimum, maximum):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise HookError("%s=%s is not a number" % (name, printable(raw, 40)), 2)
    if not minimum <= value <= maximum:
        raise HookError("%s must be between %g and %g" % (name, minimum, maximum), 2)
    return value


def load_url(repo, where):
    url = setting(repo, "FLOW_URL", "url")
    if not url:
        raise HookError(
            "no Flow URL configured: set FLOW_URL (such as http://flow.example:3000) or %s" % where["url"], 2
        )
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise HookError(
            "FLOW_URL must be an http(s) address such as http://flow.example:3000, not %s" % printable(url), 2
        )
    return url.rstrip("/")


def load_token(repo, where):
    """The API token (never printed) from FLOW_API_TOKEN, FLOW_API_TOKEN_FILE or flow.tokenFile, and its origin."""
    token = os.environ.get("FLOW_API_TOKEN", "").strip()
    origin = "FLOW_API_TOKEN"
    if not token:
        path = setting(repo, "FLOW_API_TOKEN_FILE", "tokenFile", path=True)
        if not path:
            raise HookError(
                "no Flow API token configured: set FLOW_API_TOKEN, FLOW_API_TOKEN_FILE or %s to a file holding a "
                "write-scoped token" % where["tokenFile"],
                2,
            )
        try:
            with open(path, encoding="utf-8") as handle:
                token = handle.read().strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else "not readable UTF-8 text"
            raise HookError("cannot read the Flow token file %s: %s" % (printable(path), reason), 2)
        origin = "the token file %s" % printable(path)
    if not TOKEN.fullmatch(token):
        raise HookError("%s does not hold a token (expected one line of visible ASCII characters)" % origin, 2)
    return token, origin


def load_source(repo):
    source = setting(repo, "FLOW_SOURCE", "source") or repo.kind
    if not EVENT_NAME.fullmatch(source):
        raise HookError(
            "the event source %s is not valid: use 1-64 lowercase letters, digits, '.', '_' or '-'" % printable(source),
            2,
        )
    return source


# ---------------------------------------------------------------------------------------------------------------
# Sending


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are refused: following one would resend the bearer token to wherever it points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def problem_detail(error):
    """The `detail` of a problem+json answer, or its status text."""
    try:
        body = json.loads(error.read(64 * 1024).decode("utf-8", "replace"))
        detail = body.get("detail") if isinstance(body, dict) else None
        if isinstance(detail, str) and detail.strip():
            return printable(detail.strip(), 300)
    except (ValueError, OSError, http.client.HTTPException):
        pass
    return printable(str(error.reason or ""), 100)


def retry_after(error, fallback):
    """The wait a 429 or 503 asks for (seconds or an HTTP date), capped at RETRY_AFTER_CAP."""
    value = (error.headers.get("Retry-After") or "").strip() if error.headers else ""
    seconds = None
    if value.isdigit():
        seconds = float(value)
    elif value:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            seconds = None
    return fallback if seconds is None else max(0.0, min(seconds, RETRY_AFTER_CAP))


def send(opener, url, token, token_origin, event, timeout, retries):
    """POSTs one event and returns the gateway's answer; retries connection errors, 429 and 5xx with backoff."""
    request = urllib.request.Request(
        url,
        data=json.dumps(event["body"], ensure_ascii=False).encode("utf-8", "surrogatepass"),
        method="POST",
        headers={
            "Authorization": "Bearer " + token,
            "Content-Type": "application/json",
            "Accept": "application/json, application/problem+json",
            "Idempotency-Key": event["key"],
            "User-Agent": USER_AGENT,
        },
    )
    failure = ""
    for attempt in range(int(retries) + 1):
        delay = min(2.0**attempt, 8.0)
        try:
            with opener.open(request, timeout=timeout) as response:
                text = response.read(64 * 1024).decode("utf-8", "replace")
            try:
                answer = json.loads(text or "{}")
            except ValueError:
                answer = {}  # accepted all the same; only the event id is missing from the report
            return answer if isinstance(answer, dict) else {}
        except urllib.error.HTTPError as error:
            status, detail = error.code, problem_detail(error)
            if status == 401:
                raise SendError("token rejected: 401 %s (the hook's token is from %s)" % (detail, token_origin), True)
            if status == 403:
                raise SendError(
                    "token not allowed to post events: 403 %s (the hook's token is from %s; use a write-scoped token)"
                    % (detail, token_origin),
                    True,
                )
            if 300 <= status < 400:
                location = printable(error.headers.get("Location", "") if error.headers else "")
                raise SendError(
                    "%s answered %d redirect to %s; set FLOW_URL to the final address" % (url, status, location), True
                )
            if status != 429 and status < 500:
                raise SendError("event refused: %d %s" % (status, detail), fatal=False)
            failure = "Flow answered %d %s" % (status, detail)
            if status in (429, 503):
                delay = retry_after(error, delay)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            reason = getattr(error, "reason", error)
            failure = "cannot reach %s: %s" % (url, printable(str(reason), 200))
        if attempt < retries:
            time.sleep(delay)
    attempts = int(retries) + 1
    raise SendError("%s (after %d attempt%s)" % (failure, attempts, "" if attempts == 1 else "s"), fatal=True)


# ---------------------------------------------------------------------------------------------------------------
# Main


def collect(args):
    """The repository handle, the events for this push, notes to print, and where each setting lives."""
    use_hg = args.hg or (not args.git and bool(os.environ.get("HG_NODE") or os.environ.get("HG_HOOKTYPE")))
    pusher = detect_pusher()
    if use_hg:
        repo = Hg()
        where = {"url": "[flow] url in the repository's .hg/hgrc", "tokenFile": "[flow] tokenfile in .hg/hgrc"}
        first = os.environ.get("HG_NODE", "")
        last = os.environ.get("HG_NODE_LAST", "") or first
        if not HG_NODE.fullmatch(first) or not HG_NODE.fullmatch(last):
            raise HookError("HG_NODE and HG_NODE_LAST must be changeset ids; run this as a changegroup hook", 2)
        repository = setting(repo, "FLOW_REPOSITORY", "repository") or repo.name()
        return repo, hg_events(repo, first, last, repository, pusher), [], where
    repo = Git()
    where = {"url": "git config flow.url", "tokenFile": "git config flow.tokenFile"}
    if sys.stdin.isatty():
        raise HookError("git mode reads `<old> <new> <ref>` lines on stdin, as post-receive gets them", 2)
    updates, notes = read_git_updates(sys.stdin.buffer.read().decode("utf-8", "surrogateescape"))
    repository = setting(repo, "FLOW_REPOSITORY", "repository") or repo.name()
    max_refs = number_setting("FLOW_MAX_REFS", DEFAULT_MAX_REFS, 1, 100000)
    if len(updates) > max_refs:
        raise HookError(
            "this push updated %d refs, more than FLOW_MAX_REFS=%d, so no events were sent (a mirror or import?); "
            "to send them anyway, re-run the hook with a higher FLOW_MAX_REFS" % (len(updates), max_refs)
        )
    events, skipped = git_events(repo, updates, repository, pusher)
    return repo, events, notes + skipped, where


def resend_command(repo, failed):
    """A shell command that sends `failed` again; every untrusted part is quoted for the shell."""
    script = shlex.quote(os.path.abspath(__file__))
    if repo.kind == "hg":
        first, last = failed[0]["range"]
        return "HG_NODE=%s HG_NODE_LAST=%s python3 %s --hg" % (first, last, script)
    lines = " ".join(shlex.quote(event["line"]) for event in failed)
    return "printf '%%s\\n' %s | python3 %s --git" % (lines, script)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Post one Flow event per ref pushed to this git or hg repository.")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--git", action="store_true", help="git post-receive mode (default unless HG_NODE is set)")
    kind.add_argument("--hg", action="store_true", help="Mercurial changegroup hook mode")
    parser.add_argument("--dry-run", action="store_true", help="print the events instead of sending them")
    args = parser.parse_args(argv)

    token = None
    try:
        repo, events, notes, where = collect(args)
        for note in notes:
            print(note, file=sys.stderr)
        source = load_source(repo)
        if args.dry_run:
            base = setting(repo, "FLOW_URL", "url") or "<FLOW_URL>"
            for event in events:
                print(
                    json.dumps(
                        {
                            "method": "POST",
                            "url": "%s/events/%s/%s" % (base.rstrip("/"), source, event["type"]),
                            "idempotencyKey": event["key"],
                            "body": event["body"],
                        },
                        indent=2,
                        ensure_ascii=False,
                    )
                )
            return 0
        if not events:
            return 0
        url = load_url(repo, where)
        token, token_origin = load_token(repo, where)
        timeout = number_setting("FLOW_TIMEOUT", DEFAULT_TIMEOUT, 1, 300)
        retries = number_setting("FLOW_RETRIES", DEFAULT_RETRIES, 0, 10)
        opener = urllib.request.build_opener(NoRedirect())
        failed = []
        for index, event in enumerate(events):
            target = "%s/events/%s/%s" % (url, source, event["type"])
            label = "%s %s" % (event["type"], printable(event["ref"]))
            try:
                answer = send(opener, target, token, token_origin, event, timeout, retries)
            except SendError as error:
                failed.append(event)
                print("flow: %s not sent: %s" % (label, str(error).replace(token, "***")), file=sys.stderr)
                if error.fatal:
                    failed.extend(events[index + 1 :])
                    if len(events) > index + 1:
                        print("flow: %d more ref(s) not sent" % (len(events) - index - 1), file=sys.stderr)
                    break
                continue
            event_id = printable(str(answer.get("eventId", "?")))
            if answer.get("duplicate"):
                print("flow: %s was already accepted as event %s (nothing new started)" % (label, event_id))
            else:
                print("flow: accepted %s -> event %s" % (label, event_id))
        if failed:
            print(
                "flow: the push itself succeeded; after fixing this, re-send (safe to repeat) from %s with: %s"
                % (printable(os.getcwd(), 300), resend_command(repo, failed)),
                file=sys.stderr,
            )
            return 1
        return 0
    except HookError as error:
        message = str(error) if token is None else str(error).replace(token, "***")
        print("flow: %s" % message, file=sys.stderr)
        return error.exit_code
    except Exception as error:  # a hook must never dump a traceback (or a token) on the pusher's terminal
        message = "%s: %s" % (type(error).__name__, error)
        if token:
            message = message.replace(token, "***")
        print("flow: internal error: %s" % printable(message, 300), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
