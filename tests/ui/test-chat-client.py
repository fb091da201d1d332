#!/usr/bin/env python3
"""End-to-end test of the GTK client (suite "ui").

A real chatd in a temporary directory, chatctl acting as the other user, and
the real chat-client driven through its accessibility tree (AT-SPI) inside
the virtual display and session bus that ci/test provides:

  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- meson test --suite ui

Alice uses the GUI; Bob (and Carol) use chatctl. The test checks that an
unreachable server is reported with Retry; logs Alice in (confirming the
server's key fingerprint; a wrong password first; a registration with a
taken and a new name); checks that Bob's messages show up as a red unread
badge and a preview in the contacts list (one sent while Alice was offline,
one live) and in the title; opens the chat (history shown, marked read,
opened only once), sees Bob come online, replies (Send button, then
Enter for a new line and Ctrl+Enter to send) and checks with `chatctl
watch` that Bob receives the replies; pastes an image (xclip, Ctrl+V: Bob
receives an image message, the chat shows it inline); joins a room by
number (preview and message header naming the sender by nickname and
username, "Bob (bob)"; member list); accepts a friend request;
creates a room (its number shown, Bob joins it and posts: "Bob (bob): ..."
preview); offers Dave, a room member who is not a friend, a friend request
from the member list; answers Erin's request "Later" and is asked again
after logging out and in (Accept); is logged in elsewhere
(dialog with address and time, windows closed). Issue 13's defects: the
contacts title whole at the minimum width, the shortcuts window's name, the
Join dialog refusing "abc" and keeping an error inline, then a toast on
success; Add a Friend keeping its error inline; a member-list friend request
confirmed by a toast in the room window; a narrow room window (member pane
folded, hint whole). Then it runs the client again in Simplified Chinese and
dark (ADW_DEBUG_COLOR_SCHEME=prefer-dark, checked on the screenshot): the translated windows, the [图片消息] preview,
an inline image and its full-size viewer, and 55 messages of history paged
in up to the start marker. Every window is checked for controls without an
accessible name, and screenshotted into --out (printed).

Debugging: CHAT_UI_TEST_TIMEOUT (seconds per wait), CHAT_UI_TEST_DEBUG
(G_MESSAGES_DEBUG of the client), CHAT_UI_TEST_CLIENT_WRAPPER (e.g. "gdb
-batch -ex run -ex bt --args"), CHAT_UI_TEST_CLIENT_G_DEBUG; the clients'
logs are written next to the screenshots.

Exit status: 0 passed, 1 failed (with the reason), 77 skipped (no display,
no session bus, no AT-SPI).
"""

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
HISTORY_MESSAGES = 55   # more than the core's page of 50
# Seconds to wait for anything in the UI (longer under sanitizers or valgrind).
TIMEOUT = float(os.environ.get("CHAT_UI_TEST_TIMEOUT", "20"))
CHATD_START_TIMEOUT = 15.0
POLL = 0.1


class Failure(Exception):
    pass


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def log(text):
    print(text, flush=True)


def import_pyatspi():
    """pyatspi is a Debian package (python3-pyatspi): if this interpreter
    cannot import it (a pyenv or venv python), run again with the system's."""
    import importlib.util
    if importlib.util.find_spec("pyatspi") is not None:
        return
    system = "/usr/bin/python3"
    if (os.path.exists(system) and not os.environ.get("CHAT_UI_TEST_REEXEC")
            and os.path.realpath(sys.executable) != os.path.realpath(system)):
        os.environ["CHAT_UI_TEST_REEXEC"] = "1"
        os.execv(system, [system] + sys.argv)
    skip("python3-pyatspi is not installed (ci/setup installs it)")


def wait_until(what, check, timeout=TIMEOUT):
    """Polls check() until it returns something true; returns that."""
    end = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < end:
        try:
            value = check()
            if value:
                return value
        except Exception as e:  # the tree changes under our feet
            last_error = e
        time.sleep(POLL)
    detail = f" (last error: {last_error})" if last_error else ""
    raise Failure(f"timed out after {timeout:.0f} s waiting for {what}{detail}")


# ---------------------------------------------------------------- chatd --

class Chatd:
    def __init__(self, exe, workdir, repo_config):
        with open(repo_config) as f:
            crypto = json.load(f)["crypto"]
        self.dir = workdir
        self.config = os.path.join(workdir, "chatd.json")
        with open(self.config, "w") as f:
            json.dump({"crypto": crypto,
                       "server": {"bind_ip": "127.0.0.1", "bind_port": 0,
                                  "database": "chat.db", "key_file": "server.key",
                                  "allow_legacy": False,
                                  "password_hash": {"t_cost": 1, "m_cost_kib": 64,
                                                    "parallelism": 1},
                                  "login_rate": {"per_minute": 600, "burst": 100},
                                  "register_rate": {"per_hour": 10000, "burst": 1000,
                                                    "total_per_minute": 10000}}}, f)
        self.crypto = crypto
        self.log = []
        self.process = subprocess.Popen([exe, "--config", self.config], cwd=workdir,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)
        threading.Thread(target=self._read, daemon=True).start()
        match = wait_until("chatd to listen",
                           lambda: self._find(r"listening on 127\.0\.0\.1:(\d+)"),
                           CHATD_START_TIMEOUT)
        self.port = int(match.group(1))
        key = self._find(r"key (SHA256:\S+)")
        self.fingerprint = key.group(1) if key else None

    def _read(self):
        for line in self.process.stderr:
            self.log.append(line.rstrip("\n"))

    def _find(self, pattern):
        if self.process.poll() is not None:
            raise Failure("chatd exited:\n" + "\n".join(self.log))
        for line in list(self.log):
            m = re.search(pattern, line)
            if m:
                return m
        return None

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# -------------------------------------------------------------- chatctl --

class Chatctl:
    """chatctl as a user other than the GUI's, with its own data dirs."""

    def __init__(self, exe, workdir, config):
        self.exe = exe
        self.config = config
        home = os.path.join(workdir, "chatctl-home")
        self.env = dict(os.environ)
        for var, sub in [("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                         ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")]:
            path = os.path.join(home, sub)
            os.makedirs(path, exist_ok=True)
            self.env[var] = path
        self.env["HOME"] = home
        self.env.pop("G_DEBUG", None)

    def command(self, user, password, *args):
        argv = [self.exe, "--config", self.config]
        if user:
            argv += ["--user", user]
        return argv + list(args), dict(self.env, CHAT_PASSWORD=password)

    def run(self, user, password, *args, timeout=60):
        argv, env = self.command(user, password, *args)
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise Failure(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def start(self, user, password, *args):
        argv, env = self.command(user, password, *args)
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)


class Watch:
    """`chatctl watch --json` in the background, its events collected."""

    def __init__(self, chatctl, user, password):
        self.events = []
        self.process = chatctl.start(user, password, "watch", "--json", "--timeout", "120")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            line = line.strip()
            if line.startswith("{"):
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    pass

    def message_with(self, text):
        for event in self.events:
            if event.get("name") == "on_new_message" and text in json.dumps(event, ensure_ascii=False):
                return event
        return None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --------------------------------------------------------------- AT-SPI --

def node_name(node):
    try:
        return node.name or ""
    except Exception:
        return ""


def role(node):
    try:
        return node.getRoleName()
    except Exception:
        return ""


def clean(name):
    """Names compare without mnemonic underscores."""
    return name.replace("_", "")


def name_matches(node, name):
    n = clean(node_name(node))
    if callable(name):
        return name(n)
    if isinstance(name, re.Pattern):
        return bool(name.search(n))
    return n == name


# GTK 4.8 sets SHOWING only on windows: hidden stack pages and revealers
# are in the tree too, so searches take the first match in tree order
# (callers pass showing=True only for windows).
def is_showing(node):
    import pyatspi
    try:
        return node.getState().contains(pyatspi.STATE_SHOWING)
    except Exception:
        return False


def descendants(node, depth=0):
    if depth > 60:
        return
    try:
        children = list(node)
    except Exception:
        return
    for child in children:
        if child is None:
            continue
        yield child
        yield from descendants(child, depth + 1)


def dump_tree(node, depth=0):
    lines = [f"{'  ' * depth}[{role(node)}] {node_name(node)!r}"]
    if depth < 40:
        try:
            for child in node:
                if child is not None:
                    lines += dump_tree(child, depth + 1)
        except Exception:
            pass
    return lines


def find_all(node, role_name=None, name=None, showing=False):
    found = []
    for d in descendants(node):
        if role_name and role(d) != role_name:
            continue
        if name is not None and not name_matches(d, name):
            continue
        if showing and not is_showing(d):
            continue
        found.append(d)
    return found


def find_one(node, role_name=None, name=None, showing=False):
    nodes = find_all(node, role_name, name, showing)
    return nodes[0] if nodes else None


def wait_for(node, role_name, name, what=None, timeout=TIMEOUT):
    return wait_until(what or f"{role_name} {name!r}",
                      lambda: find_one(node, role_name, name), timeout)


def action_names(node):
    try:
        action = node.queryAction()
    except NotImplementedError:
        return []
    return [action.getName(i) for i in range(action.nActions)]


def do_action(node, wanted):
    action = node.queryAction()
    for i in range(action.nActions):
        if action.getName(i) == wanted:
            action.doAction(i)
            return
    raise Failure(f"{role(node)} {node_name(node)!r} has no action {wanted!r} "
                  f"(has {action_names(node)})")


def click(button):
    do_action(button, "click")


def set_text(entry, text):
    try:
        editable = entry.queryEditableText()
    except NotImplementedError:
        raise Failure(f"{role(entry)} {node_name(entry)!r} is not editable through AT-SPI")
    editable.setTextContents(text)


def text_of(node):
    try:
        t = node.queryText()
        return t.getText(0, t.characterCount)
    except Exception:
        return node_name(node)


def has_state(node, state_name):
    import pyatspi
    try:
        return node.getState().contains(getattr(pyatspi, state_name))
    except Exception:
        return False


def is_sensitive(node):
    return has_state(node, "STATE_SENSITIVE")


def size_of(node):
    """The node's width and height on screen."""
    import pyatspi
    extents = node.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
    return extents.width, extents.height


# X windows by title, through xdotool (resizing, where a window is).

def x_window(title):
    if not shutil.which("xdotool"):
        raise Failure("xdotool is not installed (ci/setup installs it)")
    out = subprocess.run(["xdotool", "search", "--name", "^" + re.escape(title) + "$"],
                         capture_output=True, text=True).stdout.split()
    return out[-1] if out else None


def resize_window(title, width, height):
    window = wait_until(f"the X window {title!r}", lambda: x_window(title))
    subprocess.run(["xdotool", "windowsize", window, str(width), str(height)], check=True)
    return window


def window_geometry(window):
    """x, y, width, height of an X window (xdotool)."""
    out = subprocess.run(["xdotool", "getwindowgeometry", "--shell", window],
                         capture_output=True, text=True, check=True).stdout
    values = dict(line.split("=", 1) for line in out.split() if "=" in line)
    return (int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"]))


def mean_brightness(shot, geometry):
    """The mean brightness (0..1) of a screenshot's area."""
    x, y, width, height = geometry
    out = subprocess.run(["convert", shot, "-crop", f"{width}x{height}+{x}+{y}", "-colorspace",
                          "Gray", "-format", "%[fx:mean]", "info:"],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


# --------------------------------------------------------------- client --

class Client:
    """A chat-client process and its accessible application."""

    def __init__(self, exe, config, workdir, localedir, log_dir, language=None, tag="en",
                 extra_env=None, lang=None, settings_backend="memory"):
        """localedir None: no CHAT_LOCALEDIR (the build tree's translations
        are found on their own). lang: LANG alone, as a user sets it (no
        LANGUAGE, no LC_*). settings_backend "keyfile" keeps the preferences
        between launches (in the test's home)."""
        env = dict(os.environ)
        home = os.path.join(workdir, "gui-home")
        for var, sub in [("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                         ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")]:
            path = os.path.join(home, sub)
            os.makedirs(path, exist_ok=True)
            env[var] = path
        env["HOME"] = home
        env["GTK_A11Y"] = "atspi"
        env["G_MESSAGES_DEBUG"] = os.environ.get("CHAT_UI_TEST_DEBUG", "")
        env["GSETTINGS_BACKEND"] = settings_backend
        env["GIO_USE_VFS"] = "local"
        env.pop("CHAT_LOCALEDIR", None)
        if localedir:
            env["CHAT_LOCALEDIR"] = localedir
        env.pop("NO_AT_BRIDGE", None)
        env.pop("G_DEBUG", None)
        env.pop("LC_ALL", None)
        if language:
            env["LANGUAGE"] = language
            env["LANG"] = "zh_CN.UTF-8" if _has_locale("zh_CN.utf8") else "C.UTF-8"
            env["LC_ALL"] = env["LANG"]
        if lang:
            for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_CTYPE"):
                env.pop(var, None)
            env["LANG"] = lang
        env.update(extra_env or {})
        self.stderr_path = os.path.join(log_dir, f"client-{tag}.log")
        self.stderr = open(self.stderr_path, "w")
        # Debugging aid: CHAT_UI_TEST_CLIENT_WRAPPER="valgrind --leak-check=full"
        # or "gdb -batch -ex run -ex bt --args" runs the client under a tool
        # (CHAT_UI_TEST_CLIENT_G_DEBUG sets its G_DEBUG).
        self.wrapper = shlex.split(os.environ.get("CHAT_UI_TEST_CLIENT_WRAPPER", ""))
        if os.environ.get("CHAT_UI_TEST_CLIENT_G_DEBUG"):
            env["G_DEBUG"] = os.environ["CHAT_UI_TEST_CLIENT_G_DEBUG"]
        self.process = subprocess.Popen(self.wrapper + [exe, "--config", config], env=env,
                                        stdout=self.stderr, stderr=subprocess.STDOUT)
        self.app = wait_until("chat-client on the accessibility bus", self._find_app)

    def _find_app(self):
        import pyatspi
        if self.process.poll() is not None:
            raise Failure(f"chat-client exited with {self.process.returncode}:\n{self.output()}")
        desktop = pyatspi.Registry.getDesktop(0)
        for app in desktop:
            if app is None:
                continue
            try:
                if app.name == "chat-client" and (self.wrapper or
                                                  app.get_process_id() == self.process.pid):
                    # Nothing runs libatspi's event loop here, so cached
                    # children, names and states would go stale: no cache.
                    from gi.repository import Atspi
                    app.set_cache_mask(Atspi.Cache.NONE)
                    return app
            except Exception:
                continue
        return None

    def report_failure(self, shots, name):
        """A screenshot, the client's log and its windows' trees."""
        try:
            shots.take(name, settle=0)
        except Failure:
            pass
        log("chat-client log:\n" + self.output())
        try:
            for frame in self.frames():
                log(f"window {node_name(frame)!r}:")
                for line in dump_tree(frame):
                    log("  " + line)
        except Exception as e:
            log(f"(cannot list the windows: {e})")

    def output(self):
        self.stderr.flush()
        with open(self.stderr_path) as f:
            return f.read()

    def frames(self):
        # Every child of the application is a window (GTK 4.8 reports
        # windows opened after startup with the role "filler").
        return [c for c in self.app if c is not None]

    def frame(self, name, timeout=TIMEOUT):
        def check():
            if self.process.poll() is not None:
                raise Failure(f"chat-client exited:\n{self.output()}")
            for f in self.frames():
                if name_matches(f, name):
                    return f
            return None
        names = lambda: [node_name(f) for f in self.frames()]  # noqa: E731
        try:
            return wait_until(f"the window {name!r}", check, timeout)
        except Failure as e:
            raise Failure(f"{e}; windows: {names()}")

    def quit(self, window=None):
        """Closes the window (the contacts window, or the last one: either
        quits), else terminates the process. Returns the criticals (and
        focus-out warnings) it logged."""
        if self.process.poll() is None and window is not None:
            try:
                do_action(window, "window.close")
            except Exception:
                pass
            try:
                self.process.wait(60 if self.wrapper else 10)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        output = self.output()
        self.stderr.close()
        # Criticals, and GTK's warning about a focused entry made insensitive
        # or destroyed (issue 13, defect 9: on every login window close).
        return [line for line in output.splitlines()
                if "-CRITICAL" in line or "did not receive a focus-out event" in line]


def _has_locale(name):
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout
    except OSError:
        return False
    return name.lower() in out.lower().split()


# ---------------------------------------------------------- screenshots --

class Screenshots:
    def __init__(self, out_dir):
        self.dir = out_dir
        os.makedirs(out_dir, exist_ok=True)
        self.paths = []

    def take(self, name, settle=0.8):
        try:  # the pointer out of the way: no hover, no tooltip
            import pyatspi
            pyatspi.Registry.generateMouseEvent(1, 1, "abs")
        except Exception:
            pass
        time.sleep(settle)  # let animations (revealers, list updates) finish
        path = os.path.join(self.dir, name + ".png")
        result = subprocess.run(["import", "-window", "root", path], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise Failure(f"screenshot failed: {result.stderr.strip()}")
        self.paths.append(path)
        log(f"screenshot: {path}")


# ----------------------------------------------------------------- test --

# Roles of controls: each must have a name (GTK falls back to the widget's
# type name, "GtkButton", when it has none).
CONTROL_ROLES = {"push button", "toggle button", "text", "password text", "spin button",
                 "check box", "radio button", "combo box", "slider", "list", "link",
                 "menu item", "page tab"}


def audit_names(frame):
    """Fails when a control in the window has no accessible name."""
    bad = []
    for node in descendants(frame):
        r = role(node)
        if r in CONTROL_ROLES:
            n = node_name(node)
            if not n.strip() or re.fullmatch(r"(Gtk|Chat)[A-Za-z]+", n):
                bad.append(f"{r} {n!r}")
    if bad:
        raise Failure(f"controls without an accessible name in {node_name(frame)!r}: "
                      + ", ".join(bad))
    return frame


def contact_item(contacts, name):
    """The list item of a contact in the contacts list."""
    view = find_one(contacts, "list")  # the window's only list
    if view is None:
        return None
    for item in find_all(view, "list item"):
        if find_one(item, "label", name):
            return item
    return None


def row_of(item):
    """The contact row in a list item: it offers the "contact.open" action
    (GTK 4.8 gives list items themselves no actions over AT-SPI)."""
    for node in descendants(item):
        if "contact.open" in action_names(node):
            return node
    raise Failure("the contact row offers no contact.open action")


def badge_text(item):
    badge = find_one(item, "label", re.compile(r"\bunread messages?\b"))
    return node_name(badge) if badge else None


def has_label(node, text):
    return find_one(node, "label", lambda n: n == text or text in n) is not None


def log_in(client, username, password, login_title, button_name):
    login = client.frame(login_title)
    set_text(wait_for(login, "text", re.compile("Username|用户名")), username)
    set_text(wait_for(login, "password text", re.compile("Password|密码")), password)
    click(wait_for(login, "push button", button_name))
    return login


class Session:
    """A client's run: `with Session(client, shots, name) as session:` around
    its steps, which set session.window to the window the client is in. On a
    failure it is reported (screenshots and logs under `name`); in any case the
    client quits from session.window, and a run that passed fails when the
    client logged criticals."""

    def __init__(self, client, shots, failure_name):
        self.client = client
        self.shots = shots
        self.failure_name = failure_name
        self.window = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, Exception):
            self.client.report_failure(self.shots, self.failure_name)
        problems = self.client.quit(self.window)
        if exc_type is None and problems:
            raise Failure("chat-client logged criticals or warnings:\n" + "\n".join(problems))
        return False


# ------------------------------------------------------------- search --

def search_entry(window, name):
    """The search entry of a window's search bar (named like its button)."""
    return wait_until(f"the search entry {name!r}",
                      lambda: next((d for d in find_all(window, None, name)
                                    if role(d) not in ("toggle button", "push button", "label")),
                                   None))


def is_pressed(button):
    """A toggle button's state (GTK 4.8 gives toggle buttons the push button
    role, with the pressed or checked state)."""
    import pyatspi
    state = button.getState()
    return state.contains(pyatspi.STATE_PRESSED) or state.contains(pyatspi.STATE_CHECKED)


def in_view(node, window, list_name):
    """Whether node lies inside the visible part of the window's scrolled
    list named list_name (GTK keeps rows around that are scrolled away)."""
    import pyatspi
    if node is None:
        return False
    view = next((d for d in find_all(window, "scroll pane") if find_one(d, "list", list_name)),
                None)
    if view is None:
        return False
    a = node.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
    b = view.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
    return a.height > 0 and b.y <= a.y and a.y + a.height <= b.y + b.height


def raise_window(title_pattern):
    """Brings a window to the front for its screenshot (the chat windows
    cover the contacts window)."""
    subprocess.run(["xdotool", "search", "--name", title_pattern, "windowraise"],
                   capture_output=True)


def search_hit(window, text):
    """The result row (a button) whose message is text."""
    return wait_for(window, "push button", lambda n: text in n, f"the search result {text!r}")


def highlighted(label):
    """The runs of a label's text that are set in bold: the matches."""
    t = label.queryText()
    runs, offset = [], 0
    while offset < t.characterCount:
        attributes, start, end = t.getAttributeRun(offset, False)
        if end <= offset:
            break
        if any(a.replace(" ", "") in ("weight:700", "weight:bold") for a in attributes):
            runs.append(t.getText(start, end))
        offset = end
    return runs


def search(window, button_name, query, hit_text, matches):
    """Types query into the window's search bar (opened with its header bar
    button unless it is open) and waits for the hit whose text is hit_text,
    with the given matches highlighted. Returns the hit's button."""
    entry = search_entry(window, button_name)
    set_text(entry, query)
    hit = search_hit(window, hit_text)
    label = wait_for(hit, "label", lambda n: hit_text in n, "the hit's text")
    try:
        wait_until(f"the matches {matches} highlighted in {hit_text!r}",
                   lambda: highlighted(label) == matches, timeout=5)
    except Failure as e:
        t = label.queryText()
        runs = [t.getAttributeRun(i, False) for i in range(0, t.characterCount, 4)]
        raise Failure(f"{e}: highlighted {highlighted(label)}, attribute runs {runs}")
    return hit

def english_run(args, world, shots):
    chatd, chatctl = world["chatd"], world["chatctl"]
    offline_text = "Hello from Bob, sent while you were away"
    live_text = "Are you there, Alice? Dinner at 8"
    reply_text = "Yes! See you at 8"
    multi_line = ("First line", "second line")
    room_text = "Welcome to the book club!"

    unreachable_run(args, world, shots)

    chatctl.run(None, "bob-password", "register", "bob", "Bob")
    chatctl.run(None, "alice-password", "register", "alice", "Alice")
    chatctl.run(None, "carol-password", "register", "carol", "Carol")
    chatctl.run("bob", "bob-password", "friends", "add", "alice")
    chatctl.run("alice", "alice-password", "friends", "accept", "bob")
    chatctl.run("bob", "bob-password", "send", "--to-user", "alice", offline_text)
    log("chatctl: registered alice and bob, made them friends, sent one message")

    client = Client(args.client, world["gui_config"], world["dir"], args.localedir, args.out,
                    tag="en")
    contacts = None
    with Session(client, shots, "failure-en") as session:
        login = audit_names(client.frame("Log In"))
        session.window = login
        shots.take("01-login")
        log_in(client, "alice", "wrong-password", "Log In", "Log In")

        # First connection: the server's fingerprint, confirmed by the user.
        dialog = audit_names(client.frame("Trust This Server?"))
        if chatd.fingerprint:
            wait_for(dialog, "label", chatd.fingerprint, "the fingerprint in the key dialog")
        shots.take("02-server-key")
        click(wait_for(dialog, "push button", "Trust and Connect"))
        log("confirmed the server key")

        # A wrong password is said so; the right one logs in.
        wait_for(login, "label", "Wrong username or password.", "the wrong password message")
        shots.take("03-wrong-password")
        log("a wrong password is reported")

        # Registration (the second page): a taken name is refused, a new one
        # is created and lands back on the login page with its name filled.
        click(wait_for(login, "push button", "Create an Account…"))
        page = wait_for(login, "panel", "Create an Account", "the registration page")
        set_text(wait_for(page, "text", "Username"), "bob")
        set_text(wait_for(page, "text", "Nickname"), "Robert")
        set_text(wait_for(page, "password text", "Password"), "dave-password")
        set_text(wait_for(page, "password text", "Confirm Password"), "dave-password")
        click(wait_for(page, "push button", "Create Account"))
        wait_for(login, "label", "That username is already taken.", "the taken-name message")
        set_text(wait_for(page, "text", "Username"), "dave")
        set_text(wait_for(page, "text", "Nickname"), "Dave")
        click(wait_for(page, "push button", "Create Account"))
        wait_for(login, "label", "Account created. Log in with your new password.",
                 "the account created message")
        wait_until("the new username on the login page",
                   lambda: text_of(wait_for(login, "text", "Username")) == "dave")
        log("registration: a taken name is refused, a new account is created")
        log_in(client, "alice", "alice-password", "Log In", "Log In")

        contacts = audit_names(client.frame(re.compile(r"^Contacts")))
        session.window = contacts
        log(f"logged in: window {node_name(contacts)!r}")

        # The message that came while offline: badge 1 and its preview.
        item = wait_until("Bob in the contacts list", lambda: contact_item(contacts, "Bob"))
        wait_until("the unread badge 1", lambda: badge_text(contact_item(contacts, "Bob")) ==
                   "1 unread message")
        wait_until("the offline message's preview",
                   lambda: has_label(contact_item(contacts, "Bob"), offline_text))
        wait_until("the unread total in the title",
                   lambda: node_name(contacts) == "Contacts (1)")

        # A live message: badge 2, the new preview, the title.
        chatctl.run("bob", "bob-password", "send", "--to-user", "alice", "--font-size", "15",
                    "--font-color", "#c01c28", live_text)
        wait_until("the unread badge 2", lambda: badge_text(contact_item(contacts, "Bob")) ==
                   "2 unread messages")
        wait_until("the live message's preview",
                   lambda: has_label(contact_item(contacts, "Bob"), live_text))
        wait_until("the unread total 2 in the title",
                   lambda: node_name(contacts) == "Contacts (2)")
        log("contacts list: red badge 2, preview and title follow Bob's messages")
        shots.take("04-contacts-unread")
        light = mean_brightness(shots.paths[-1], window_geometry(wait_until(
            "the contacts X window", lambda: x_window("Contacts (2)"))))
        if light < 0.6:
            raise Failure(f"the contacts window is dark ({light:.2f}) in the default scheme")

        # Defect 4: at its minimum width the window still shows its whole
        # title and the unread total (they set the minimum instead of
        # being shortened to "Con…").
        title = wait_for(contacts, "label", "Contacts", "the title in the header")
        unread = wait_for(contacts, "label", "2 unread", "the unread total under the title")
        wide = {"title": size_of(title)[0], "unread": size_of(unread)[0]}
        window = resize_window("Contacts (2)", 120, 640)
        wait_until("the contacts window at its minimum width",
                   lambda: window_geometry(window)[2] < 360)
        shots.take("04a-contacts-narrow")
        for name, node in (("title", title), ("unread", unread)):
            if size_of(node)[0] < wide[name]:
                raise Failure(f"the {name} is shortened at the minimum width: "
                              f"{size_of(node)[0]} < {wide[name]} px")
        log(f"contacts at the minimum width ({window_geometry(window)[2]} px): title and "
            "'2 unread' whole")
        resize_window("Contacts (2)", 360, 640)

        # Defect 6: the shortcuts window is named by its title.
        try:
            do_action(contacts, "win.show-help-overlay")
        except Failure:
            contacts.queryComponent().grabFocus()
            press("question", control=True)
        shortcuts = client.frame("Keyboard Shortcuts")
        shots.take("04b-shortcuts")
        do_action(shortcuts, "window.close")
        wait_until("the shortcuts window to close",
                   lambda: not any(node_name(f) == "Keyboard Shortcuts" for f in client.frames()))
        log("the shortcuts window is named 'Keyboard Shortcuts'")

        # Open the chat: history restored, the conversation marked read.
        item = contact_item(contacts, "Bob")
        do_action(row_of(item), "contact.open")
        chat = audit_names(client.frame("Bob"))
        wait_for(chat, "label", offline_text, "the offline message in the chat")
        wait_for(chat, "label", live_text, "the live message in the chat")
        wait_until("the badge to clear", lambda: badge_text(contact_item(contacts, "Bob")) is None)
        wait_until("the title without unread", lambda: node_name(contacts) == "Contacts")
        log("chat window: history shown, conversation marked read")

        # Opening it again focuses the same window. Whether it made a second
        # one is checked once a window opened after it (the "Join a Room"
        # dialog below) is in the tree: the client creates windows in order.
        do_action(row_of(contact_item(contacts, "Bob")), "contact.open")

        # Bob comes online (chatctl watch): the chat says so, live.
        watch = Watch(chatctl, "bob", "bob-password")
        world["watch"] = watch
        wait_for(chat, "label", "@bob · Online", "Bob shown online")
        log("presence: Bob shown online while chatctl watch runs")

        # Reply with the Send button.
        message = wait_for(chat, "text", "Message", "the message input")
        set_text(message, reply_text)
        click(wait_for(chat, "push button", "Send"))
        wait_until("chatctl watch to receive the reply",
                   lambda: watch.message_with(reply_text), 30)
        wait_for(chat, "label", reply_text, "the reply in the chat")
        log("sent a reply with the Send button; chatctl watch received it")

        # Enter is a new line, Ctrl+Enter sends (real key events).
        set_text(message, "")
        try:
            message.queryComponent().grabFocus()
        except Exception:
            pass
        if not (type_keys(multi_line[0]) and press("Return") and type_keys(multi_line[1]) and
                press("Return", control=True)):
            raise Failure("cannot generate key events: Enter and Ctrl+Enter not exercised")
        expected = multi_line[0] + "\\n" + multi_line[1]
        wait_until("chatctl watch to receive the two-line message",
                   lambda: watch.message_with(expected), 30)
        log("Enter made a new line and Ctrl+Enter sent the message")
        shots.take("05-chat")

        # An image pasted into the composer (Ctrl+V of a PNG on the
        # clipboard) is sent: Bob's chatctl watch gets an image message
        # (body type 1) and the chat shows it inline.
        paste_image(world, chat, message, watch)
        shots.take("05a-image-sent")

        # Rooms: Bob creates one, Alice joins it by its number through the
        # "Join a Room" dialog; the room's preview and the message's header
        # name the sender by nickname and (unique) username; the room window
        # lists the members.
        room = json.loads(chatctl.run("bob", "bob-password", "rooms", "create", "Book Club",
                                      "--json"))
        do_action(contacts, "win.join-room")
        dialog = audit_names(client.frame("Join a Room"))
        chats = [f for f in client.frames() if node_name(f) == "Bob"]
        if len(chats) != 1:
            raise Failure(f"opening the conversation twice made {len(chats)} windows")
        log("opening the conversation again made no second window")
        number = wait_for(dialog, "text", "Room number")
        join = wait_for(dialog, "push button", "Join")
        # Defect 9: only digits make a room number.
        set_text(number, "abc")
        wait_for(dialog, "label", "Enter a number, such as 1001.", "the digits-only hint")
        wait_until("Join to be insensitive for 'abc'", lambda: not is_sensitive(join))
        # Defect 3: a room that does not exist: the dialog stays open with the
        # reason inline and the number kept.
        set_text(number, "99999")
        wait_until("Join to be sensitive for a number", lambda: is_sensitive(join))
        click(join)
        no_room = "There is no room with that number."
        wait_for(dialog, "label", no_room, "the join error in the dialog")
        shots.take("05b-join-error")
        if text_of(number) != "99999" or client.frame("Join a Room", timeout=1) is None:
            raise Failure("the Join dialog lost what was typed or closed on the error")
        if find_one(contacts, "label", no_room):
            raise Failure("the join error went to the contacts window, not the dialog")
        # The right number: the dialog closes, a toast says so, no error left.
        set_text(number, str(room["id"]))
        click(join)
        wait_for(contacts, "label", "Joined “Book Club”.", "the joined toast")
        shots.take("05c-joined-toast")
        wait_until("the Join dialog to close",
                   lambda: not any(node_name(f) == "Join a Room" for f in client.frames()))
        if find_one(contacts, "label", no_room):
            raise Failure("the join error is still shown after joining")
        wait_until("the room in the contacts list", lambda: contact_item(contacts, "Book Club"))
        log("join: 'abc' refused, an unknown number's error in the dialog (kept open), then "
            "joined with a toast and no error left")

        # Defect 3: Add a Friend keeps its dialog open with the reason.
        do_action(contacts, "win.add-friend")
        add = audit_names(client.frame("Add a Friend"))
        username = wait_for(add, "text", "Username")
        set_text(username, "nobody")
        click(wait_until("the Send Request button", lambda: find_one(add, "push button",
                                                                     "Send Request")))
        wait_for(add, "label", "There is no user with that username.",
                 "the add-friend error in the dialog")
        shots.take("05d-add-friend-error")
        if text_of(username) != "nobody":
            raise Failure("the Add a Friend dialog lost what was typed")
        do_action(add, "window.close")
        log("add a friend: an unknown user's error shown in the dialog, which stays open")
        chatctl.run("bob", "bob-password", "send", "--to-room", str(room["id"]), room_text)
        wait_until("the room's preview with the sender's name",
                   lambda: has_label(contact_item(contacts, "Book Club"),
                                     "Bob (bob): " + room_text))
        do_action(row_of(contact_item(contacts, "Book Club")), "contact.open")
        room_window = audit_names(client.frame("Book Club"))
        wait_for(room_window, "label", room_text, "the room message")
        wait_for(room_window, "label", re.compile(r"^Bob \(bob\) · \d\d:\d\d$"),
                 "the message's header: nickname, username and time")
        wait_for(room_window, "label", "Alice (you)", "Alice in the member list")
        wait_for(room_window, "label", "Bob", "Bob in the member list")
        wait_for(room_window, "label", re.compile(r"^\d of 2 online$"),
                 "the members heading")
        log("rooms: joined by number, preview and header name 'Bob (bob)', member list with "
            "online state")
        shots.take("06-room")

        # Search in the contacts window (every conversation): the hit shows
        # its text with the match highlighted; activating it brings Bob's
        # chat forward at the message. Then Ctrl+F in the chat window
        # searches that conversation only.
        click(wait_for(contacts, "push button", "Search messages"))
        set_text(search_entry(contacts, "Search messages"), "no such words")
        wait_for(contacts, "label", "No messages contain “no such words”.", "no results")
        hit = search(contacts, "Search messages", "DINNER", live_text, ["Dinner"])
        raise_window("^Contacts")
        shots.take("14-search-contacts")
        click(hit)
        log("search: the hit highlights its match; activating it opens the chat")
        chat = client.frame("Bob")
        search_button = wait_for(chat, "push button", "Search messages")
        if is_pressed(search_button):
            raise Failure("the chat window's search bar is open before Ctrl+F")
        # The key goes to the focused window: Bob's, once the window manager
        # has activated it.
        subprocess.run(["xdotool", "search", "--name", "^Bob$", "windowactivate", "--sync"],
                       capture_output=True, timeout=10)

        def ctrl_f_opened():
            if not press("f", control=True):
                raise Failure("cannot generate key events: Ctrl+F not exercised")
            return wait_or_none(lambda: is_pressed(search_button), 2)
        wait_until("Ctrl+F to open the chat window's search bar", ctrl_f_opened)
        hit = search(chat, "Search messages", "the", live_text, ["the"])
        if find_one(chat, "push button", lambda n: room_text in n):
            raise Failure("the chat window's search found a message of another conversation")
        click(hit)
        shots.take("15-search-chat", settle=0.3)  # the message's highlight lasts 2.5 s
        log("Ctrl+F in the chat window searches its conversation")
        click(wait_for(contacts, "push button", "Search messages"))

        # A friend request while online: Accept, and the friend is listed.
        chatctl.run("carol", "carol-password", "friends", "add", "alice")
        accept_friend_request(client, contacts, shots, "Carol", "the request's text",
                              "07-friend-request")
        log("friend request: asked, accepted, Carol listed")

        create_room(client, chatctl, contacts, shots)
        contacts = later_friend_request(client, chatctl, contacts, shots)
        session.window = contacts

        # Logged in elsewhere: a dialog says from where, the windows close.
        chatctl.run("alice", "alice-password", "whoami")
        kicked = audit_names(client.frame("Logged In Elsewhere"))
        wait_for(kicked, "label", re.compile(r"logged in from 127\.0\.0\.1:\d+ at "),
                 "where and when")
        login = client.frame("Log In")
        contacts = None
        session.window = login
        shots.take("08-logged-in-elsewhere")
        if any(node_name(f) in ("Bob", "Book Club") or node_name(f).startswith("Contacts")
               for f in client.frames()):
            raise Failure("the session's windows stayed open after the kick")
        click(wait_for(kicked, "push button", "Close"))
        log("logged in elsewhere: dialog with address and time, windows closed")
    log("the English client quit cleanly")


def image_events(watch):
    """The image messages (body type 1) chatctl watch received."""
    found = []
    for event in list(watch.events):
        if event.get("name") != "on_new_message":
            continue
        body = (event.get("params") or {}).get("message") or {}
        if body.get("type") == 1:
            found.append(body)
    return found


def paste_image(world, chat, message, watch):
    """Puts a PNG on the clipboard (xclip) and presses Ctrl+V in the
    composer."""
    if not shutil.which("xclip"):
        raise Failure("xclip is not installed (ci/setup installs it)")
    image = os.path.join(world["dir"], "pasted.png")
    subprocess.run(["convert", "-size", "160x120", "gradient:#e66100-#f6d32d", image],
                   check=True)
    before = len(image_events(watch))
    # -quiet: stays in the foreground, serving the selection until stopped.
    xclip = subprocess.Popen(["xclip", "-quiet", "-selection", "clipboard", "-t", "image/png",
                              "-i", image], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_until("xclip to own the clipboard", lambda: subprocess.run(
            ["xclip", "-o", "-selection", "clipboard", "-t", "TARGETS"], capture_output=True,
            text=True, timeout=5).stdout.find("image/png") >= 0, 10)
        set_text(message, "")
        try:
            message.queryComponent().grabFocus()
        except Exception:
            pass

        def pasted():
            if len(image_events(watch)) > before:
                return True
            if not press("v", control=True):
                raise Failure("cannot generate the Ctrl+V key event")
            # Give the client time to read the clipboard and upload.
            return wait_or_none(lambda: len(image_events(watch)) > before, 5)
        wait_until("chatctl watch to receive the pasted image", pasted, 30)
    finally:
        xclip.terminate()
        try:
            xclip.wait(5)
        except subprocess.TimeoutExpired:
            xclip.kill()
    body = image_events(watch)[-1]
    size = (body.get("data") or {}).get("$bytes_len", 0)
    if not isinstance(size, int) or size <= 0:
        raise Failure(f"the image Bob received has no bytes: {body}")
    wait_for(chat, "push button", "Image, activate to view it full size",
             "the sent image inline in the chat")
    log(f"image: pasted with Ctrl+V, Bob received an image message ({size} bytes), "
        "shown inline")


def wait_or_none(check, timeout):
    try:
        return wait_until("", check, timeout)
    except Failure:
        return None


def accept_friend_request(client, contacts, shots, name, what, shot):
    """The friend request of `name` (user name: the same in lower case) is
    shown (`what`), accepted, and the friend listed in contacts."""
    request = audit_names(client.frame("Friend Request"))
    wait_for(request, "label", f"{name} (@{name.lower()}) wants to add you as a friend.", what)
    shots.take(shot)
    click(wait_for(request, "push button", "Accept"))
    wait_until(f"{name} in the contacts list", lambda: contact_item(contacts, name))


def create_room(client, chatctl, contacts, shots):
    """Creates a room from the contacts window, Bob joins and posts; then
    Dave (not a friend) joins and Alice offers him a friend request from
    the member list."""
    room_name = "Garden Club"
    room_text = "Tomatoes are ripe"
    do_action(contacts, "win.create-room")
    dialog = audit_names(client.frame("Create a Room"))
    set_text(wait_for(dialog, "text", "Room name"), room_name)
    click(wait_for(dialog, "push button", "Create"))
    created = audit_names(client.frame("Room Created"))
    body = wait_for(created, "label", re.compile(r"^The room .Garden Club. was created\. "
                                                  r"Its number is \d+;"), "the room's number")
    room_id = int(re.search(r"Its number is (\d+);", node_name(body)).group(1))
    wait_until("the new room in the contacts list", lambda: contact_item(contacts, room_name))
    shots.take("07a-room-created")
    click(wait_for(created, "push button", "Close"))
    chatctl.run("bob", "bob-password", "rooms", "join", str(room_id))
    chatctl.run("bob", "bob-password", "send", "--to-room", str(room_id), room_text)
    wait_until("the new room's preview with Bob's name",
               lambda: has_label(contact_item(contacts, room_name), "Bob (bob): " + room_text))
    log(f"create a room: number {room_id} shown, listed; Bob joined and posted, preview "
        "'Bob (bob): ...'")

    # A member who is not a friend: activating him offers a friend request.
    chatctl.run("dave", "dave-password", "rooms", "join", str(room_id))
    do_action(row_of(contact_item(contacts, room_name)), "contact.open")
    room_window = audit_names(client.frame(room_name))
    wait_for(room_window, "label", "Dave", "Dave in the member list")

    def dave_row():
        for node in descendants(room_window):
            if node_name(node).startswith("Dave, ") and "member.open" in action_names(node):
                return node
        return None
    do_action(wait_until("Dave's member row", dave_row), "member.open")
    offer = audit_names(client.frame("Add a Friend?"))
    wait_for(offer, "label", re.compile(r"^Dave \(@dave\) is not your friend yet\."),
             "the friend request offer")
    shots.take("07b-member-friend-offer")
    click(wait_for(offer, "push button", "Send Request"))
    wait_until("Dave to receive Alice's friend request",
               lambda: "alice" in chatctl.run("dave", "dave-password", "friends", "requests"))
    # Defect 3: the confirmation is a toast in the room's window, not a
    # strip in the contacts window.
    wait_for(room_window, "label", "The friend request was sent.", "the toast in the room window")
    shots.take("07b2-friend-request-sent-toast")
    if find_one(contacts, "label", "The friend request was sent."):
        raise Failure("the friend request's confirmation went to the contacts window")
    narrow_room_window(client, room_window, room_name, shots)
    do_action(room_window, "window.close")
    log("room members: activating a non-friend offered a friend request; Dave received it")


def narrow_room_window(client, room_window, room_name, shots):
    """Defect 7: in a narrow window the member pane folds away (its button
    off), the hint is laid out whole (wrapped, not cut at its start) and
    the messages keep a usable height."""
    # A GtkToggleButton is a "push button" with a pressed state in GTK 4.8.
    members = wait_for(room_window, None, "Show the room's members", "the members button")
    hint = wait_for(room_window, "label", "Enter: new line · Ctrl+Enter: send")
    wait_until("the member pane shown in a wide window", lambda: has_state(members, "STATE_PRESSED")
               or has_state(members, "STATE_CHECKED"))
    wide = size_of(hint)
    window = resize_window(room_name, 360, 600)
    wait_until("the room window to be narrow", lambda: window_geometry(window)[2] <= 400)
    wait_until("the member pane to fold away",
               lambda: not (has_state(members, "STATE_PRESSED") or
                            has_state(members, "STATE_CHECKED")))
    narrow = size_of(hint)
    if narrow[0] < wide[0] and narrow[1] <= wide[1]:
        raise Failure(f"the hint is cut in a narrow window: {narrow} (wide: {wide})")
    messages = wait_for(room_window, "list", "Messages")
    if size_of(messages)[1] < 150:
        raise Failure(f"the message area is {size_of(messages)[1]} px high in a narrow window")
    shots.take("07b3-room-narrow")
    log(f"narrow room window: member pane folded, hint whole {narrow}, messages "
        f"{size_of(messages)[1]} px high")


def later_friend_request(client, chatctl, contacts, shots):
    """Erin's friend request answered Later is asked again after logging
    out and in; then accepted. Returns the new contacts window."""
    chatctl.run(None, "erin-password", "register", "erin", "Erin")
    chatctl.run("erin", "erin-password", "friends", "add", "alice")
    request = audit_names(client.frame("Friend Request"))
    wait_for(request, "label", "Erin (@erin) wants to add you as a friend.", "Erin's request")
    click(wait_for(request, "push button", "Later"))
    wait_until("the request dialog to close",
               lambda: not any(node_name(f) == "Friend Request" for f in client.frames()))
    wait_for(contacts, "label", "1 friend request is waiting for an answer.",
             "the waiting request strip")
    shots.take("07c-friend-request-later")
    if contact_item(contacts, "Erin"):
        raise Failure("Erin was listed although the request was left for later")

    # Log Out, from the main menu.
    def actionable(name):
        for node in find_all(contacts, None, name):
            if action_names(node):
                return node
        return None
    menu = wait_until("the main menu button", lambda: actionable("Main menu"))
    menu.queryAction().doAction(0)
    item = wait_until("the Log Out menu item", lambda: actionable("Log Out"))
    item.queryAction().doAction(0)
    log_in(client, "alice", "alice-password", "Log In", "Log In")
    contacts = audit_names(client.frame(re.compile(r"^Contacts")))
    accept_friend_request(client, contacts, shots, "Erin", "Erin's request asked again",
                          "07d-friend-request-again")
    log("friend request: Later, asked again after logging out and in, accepted")

    # A conversation without messages says so (a status page).
    do_action(row_of(contact_item(contacts, "Erin")), "contact.open")
    erin = audit_names(client.frame("Erin"))
    wait_for(erin, "label", "No Messages Yet", "the empty conversation's status page")
    shots.take("07e-no-messages-yet")
    do_action(erin, "window.close")
    log("an empty conversation shows 'No Messages Yet'")

    keyboard_focus(client, contacts)
    return contacts


def focused(window):
    """The window's node with the keyboard focus, or None."""
    return next((d for d in descendants(window) if has_state(d, "STATE_FOCUSED")), None)


def keyboard_focus(client, contacts):
    """Defect 5: Tab goes from control to control, never into a label's
    text, and Tab into the (re-sorted) list lands on its first row."""
    title = node_name(contacts)
    window = wait_until("the contacts X window", lambda: x_window(title))
    subprocess.run(["xdotool", "windowactivate", "--sync", window], check=False)
    view = find_one(contacts, "list", "Contacts")

    def list_item_of(node):
        for item in find_all(view, "list item"):
            if node == item or node in list(descendants(item)):
                return item
        return None
    was_outside = False
    for _ in range(20):
        if not press("Tab"):
            raise Failure("cannot generate Tab key events")
        node = wait_until("a focused control", lambda: focused(contacts))
        if role(node) == "label":
            raise Failure(f"Tab landed in the text of the label {node_name(node)!r}")
        item = list_item_of(node)
        if item is None:
            was_outside = True
        elif was_outside:
            if item != find_all(view, "list item")[0]:
                raise Failure("Tab into the list focused a row other than the first")
            log("keyboard: Tab goes through controls only and enters the list on its first "
                "row")
            return
    raise Failure("twenty Tabs never went out of the contacts list and back in")


def unreachable_run(args, world, shots):
    """A server that does not answer: the login window says so and offers
    Retry."""
    import socket
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = os.path.join(world["dir"], "unreachable.json")
    with open(config, "w") as f:
        json.dump({"crypto": world["chatd"].crypto,
                   "client": {"server_ip": "127.0.0.1", "server_port": port, "dialect": "v2"}},
                  f)
    client = Client(args.client, config, world["dir"], args.localedir, args.out,
                    tag="unreachable")
    with Session(client, shots, "failure-unreachable") as session:
        login = client.frame("Log In")
        session.window = login
        log_in(client, "alice", "alice-password", "Log In", "Log In")
        wait_for(login, "label", re.compile(r"^Cannot reach the server"), "the unreachable message")
        wait_for(login, "push button", "Retry", "the Retry button")
        shots.take("00-server-unreachable")
        log("an unreachable server is reported, with Retry")


def chinese_run(args, world, shots):
    chatctl = world["chatctl"]
    image = os.path.join(world["dir"], "photo.png")
    subprocess.run(["convert", "-size", "480x320", "gradient:#3584e4-#9141ac", "-gravity",
                    "center", "-pointsize", "40", "-fill", "white", "-annotate", "0", "Photo",
                    image], check=True)
    chatctl.run("bob", "bob-password", "send", "--to-user", "alice", "你好，爱丽丝！周末一起去爬山吗？")
    chatctl.run("bob", "bob-password", "send-image", "--to-user", "alice", image)
    # More than one page of history (the core pages 50 at a time).
    for n in range(1, HISTORY_MESSAGES + 1):
        chatctl.run("carol", "carol-password", "send", "--to-user", "alice", f"第 {n} 条")

    # The Chinese run is also the dark-mode run: the style manager follows a
    # system that prefers dark (libadwaita's debug switch stands in for it).
    client = Client(args.client, world["gui_config"], world["dir"], None, args.out,
                    language="zh_CN", tag="zh",
                    extra_env={"ADW_DEBUG_COLOR_SCHEME": "prefer-dark"})
    with Session(client, shots, "failure-zh") as session:
        client.frame("登录")
        shots.take("09-login-zh")
        log_in(client, "alice", "alice-password", "登录", re.compile(r"^登录"))
        contacts = audit_names(client.frame(re.compile(r"^联系人")))
        session.window = contacts
        wait_until("the Chinese title with the unread total",
                   lambda: node_name(contacts) == f"联系人（{2 + HISTORY_MESSAGES}）")
        wait_until("the image preview [图片消息]",
                   lambda: has_label(contact_item(contacts, "Bob"), "[图片消息]"))
        wait_until("the Chinese unread badge",
                   lambda: find_one(contact_item(contacts, "Bob"), "label", "2 条未读消息"))
        shots.take("10-contacts-zh")
        dark = mean_brightness(shots.paths[-1], window_geometry(wait_until(
            "the contacts X window", lambda: x_window(node_name(contacts)))))
        if dark > 0.4:
            raise Failure(f"the contacts window is not dark ({dark:.2f}) with a dark preference")
        log(f"dark mode: the contacts window's mean brightness is {dark:.2f}")
        # Defect 9: a room's preview uses the full-width colon in Chinese.
        wait_until("the room preview with a full-width colon",
                   lambda: has_label(contact_item(contacts, "Garden Club"),
                                     "：Tomatoes are ripe"))
        do_action(row_of(contact_item(contacts, "Bob")), "contact.open")
        chat = client.frame("Bob")
        wait_for(chat, "push button", re.compile(r"^发送"), "the Chinese Send button")
        wait_for(chat, "label", "你好，爱丽丝！周末一起去爬山吗？", "the Chinese message")
        picture = wait_for(chat, "push button", "来自 Bob（bob） 的图片，激活可查看原图",
                           "the inline image, from its sender's nickname and username")
        shots.take("11-chat-zh")
        click(picture)
        viewer = audit_names(client.frame("来自 Bob（bob） 的图片"))
        shots.take("12-image-viewer-zh")
        do_action(viewer, "window.close")

        # History pages in as the user goes up (Ctrl+Home: to the oldest),
        # until the marker says it is all there.
        do_action(row_of(contact_item(contacts, "Carol")), "contact.open")
        carol = client.frame("Carol")
        wait_for(carol, "label", f"第 {HISTORY_MESSAGES} 条", "the newest message of Carol")

        def reached_start():
            do_action(carol, "win.jump-to-oldest")
            time.sleep(0.3)
            return (find_one(carol, "label", "第 1 条") and
                    find_one(carol, "label", "聊天记录从这里开始"))
        wait_until("the start of the history", reached_start)
        shots.take("13-history-start-zh")
        log(f"history: {HISTORY_MESSAGES} messages paged in up to the start marker")
        # Search in Chinese: three characters and more use the server's
        # index, one or two a scan; activating a hit far up Carol's history
        # scrolls her chat there.
        click(wait_for(contacts, "push button", "搜索消息"))
        search(contacts, "搜索消息", "爬山", "你好，爱丽丝！周末一起去爬山吗？", ["爬山"])
        hit = search(contacts, "搜索消息", "第 40 条", "第 40 条", ["第 40 条"])
        raise_window("^联系人")
        shots.take("16-search-zh")
        target = find_one(carol, "label", "第 40 条")
        if target and in_view(target, carol, "消息"):
            raise Failure("the message to jump to is on screen already")
        click(hit)
        wait_until("Carol's chat scrolled to the message found",
                   lambda: in_view(find_one(carol, "label", "第 40 条"), carol, "消息"))
        shots.take("17-search-jump-zh", settle=0.3)  # within the highlight's 2.5 s
        log("search in Chinese: 2 and 4 character queries; the hit opens its chat scrolled to "
            "the message")
        log("the Chinese UI: login, contacts ([图片消息] preview) and chat (inline image, "
            "full-size viewer) windows translated")


def window_brightness(title, workdir):
    """The mean grey level (0 black .. 1 white) of the window titled title,
    from a capture of it alone."""
    path = os.path.join(workdir, "brightness.png")
    capture = subprocess.run(["import", "-window", title, path], capture_output=True, text=True)
    if capture.returncode != 0:
        raise Failure(f"cannot capture the window {title!r}: {capture.stderr.strip()}")
    mean = subprocess.run(["convert", path, "-colorspace", "Gray", "-format", "%[fx:mean]",
                           "info:"], capture_output=True, text=True, check=True).stdout
    return float(mean)


RED = "#c01c28"
RED_TEXT = "Red from Bob, readable in the dark too"
# The incoming bubble in libadwaita 1.2's dark style: its view background
# #1e1e1e with 7% of its white text (gtk-client/style.css).
DARK_INCOMING_BUBBLE = (0x2e, 0x2e, 0x2e)


def parse_hex(text):
    return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))


def contrast(a, b):
    """WCAG 2 contrast ratio of two 8-bit sRGB colours."""
    def luminance(c):
        lin = [(v / 255) / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4
               for v in c]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color(label):
    """The foreground colour a label's text is drawn in (8-bit), from its
    AT-SPI text attributes; None when it has none of its own."""
    text = label.queryText()
    attributes, _, _ = text.getAttributeRun(0, False)
    for attribute in attributes:
        name, _, value = attribute.partition(":")
        if name == "fg-color":
            channels = [int(v) for v in value.split(",")]
            if max(channels) > 255:  # 16-bit channels
                channels = [round(v / 257) for v in channels]
            return tuple(channels)
    return None


def settings_run(args, world, shots):
    """Preferences kept between launches (GSettings' keyfile backend, in the
    test's home): the username of the last sign-in is filled in, the window
    sizes are written on close; Ctrl+comma opens the preferences, whose dark
    style applies at once; and the build tree's client, started with
    LANG=zh_CN.UTF-8 alone (no CHAT_LOCALEDIR, no LANGUAGE), speaks Chinese."""
    keyfile = os.path.join(world["dir"], "gui-home", "config", "glib-2.0", "settings", "keyfile")
    first = Client(args.client, world["gui_config"], world["dir"], None, args.out,
                   tag="settings-1", settings_backend="keyfile")
    with Session(first, shots, "failure-settings-1") as session:
        login = first.frame("Log In")
        session.window = login
        username = wait_for(login, "text", re.compile("Username"))
        if text_of(username):
            raise Failure(f"a first launch filled in the username {text_of(username)!r}")
        log_in(first, "alice", "alice-password", "Log In", "Log In")
        session.window = first.frame(re.compile(r"^Contacts"))
    with open(keyfile) as f:
        kept = f.read()
    for key in ("last-username='alice'", "contacts-window-width=", "contacts-window-height="):
        if key not in kept:
            raise Failure(f"{key} not kept after signing in and closing; the keyfile:\n{kept}")
    log("signing in kept the username; closing kept the contacts window's size")

    # Defect 1: a sender's red is readable on the dark bubble too.
    world["chatctl"].run("bob", "bob-password", "send", "--to-user", "alice", "--font-color",
                         RED, RED_TEXT)
    second = Client(args.client, world["gui_config"], world["dir"], None, args.out,
                    tag="settings-2", settings_backend="keyfile")
    with Session(second, shots, "failure-settings-2") as session:
        login = second.frame("Log In")
        session.window = login
        username = wait_for(login, "text", re.compile("Username"))
        wait_until("the remembered username", lambda: text_of(username) == "alice")
        shots.take("18-login-username-remembered")
        set_text(wait_for(login, "password text", re.compile("Password")), "alice-password")
        click(wait_for(login, "push button", "Log In"))
        contacts = second.frame(re.compile(r"^Contacts"))
        session.window = contacts
        wait_until("the contacts list", lambda: contact_item(contacts, "Bob"))
        do_action(row_of(contact_item(contacts, "Bob")), "contact.open")
        chat = second.frame("Bob")
        red_label = wait_for(chat, "label", RED_TEXT, "Bob's red message")
        shown = wait_until("the red message's colour", lambda: text_color(red_label))
        if shown != parse_hex(RED):
            raise Failure(f"the light bubble shows {RED} as {shown}: it is readable as it is")

        # The key goes to the focused window: until the new contacts window
        # has the focus, a press may land nowhere (then it is pressed again).
        def open_preferences():
            if not press("comma", control=True):
                raise Failure("cannot generate key events: Ctrl+comma not exercised")
            return wait_or_none(lambda: [f for f in second.frames()
                                         if node_name(f) == "Preferences"], 3)
        preferences = audit_names(wait_until("Ctrl+comma to open the preferences",
                                             open_preferences)[0])
        for name in ("System", "Light", "Dark"):
            wait_for(preferences, "push button", name, f"the style {name!r}")
        for name in ("Font Size", "Text Color"):
            wait_for(preferences, None, name, f"the control {name!r}")
        light = window_brightness("Preferences", world["dir"])
        shots.take("19-preferences")
        click(wait_for(preferences, "push button", "Dark"))
        wait_until("the dark style", lambda: window_brightness("Preferences", world["dir"]) < 0.35)
        shots.take("20-preferences-dark")
        log(f"Ctrl+comma opened the preferences; the dark style applied (mean grey {light:.2f} "
            f"-> {window_brightness('Preferences', world['dir']):.2f})")
        do_action(preferences, "window.close")
        # The open chat re-draws the red for the dark bubble.
        wait_until("the red made readable on the dark bubble",
                   lambda: contrast(text_color(red_label), DARK_INCOMING_BUBBLE) >= 4.5)
        shown = text_color(red_label)
        if not (shown[0] > shown[1] and shown[0] > shown[2]):
            raise Failure(f"{RED} became {shown}: no longer red")
        log(f"{RED} on the dark bubble: {contrast(parse_hex(RED), DARK_INCOMING_BUBBLE):.2f}:1 "
            f"as sent, drawn as {shown}: {contrast(shown, DARK_INCOMING_BUBBLE):.2f}:1")
        shots.take("21-chat-dark")
        do_action(chat, "window.close")
    with open(keyfile) as f:
        kept = f.read()
    for key in ("color-scheme='dark'", "chat-window-width="):
        if key not in kept:
            raise Failure(f"{key} not kept; the keyfile:\n{kept}")

    if not _has_locale("zh_CN.utf8"):
        raise Failure("the zh_CN.UTF-8 locale is missing (ci/setup generates it)")
    chinese = Client(args.client, world["gui_config"], world["dir"], None, args.out,
                     tag="settings-zh", lang="zh_CN.UTF-8", settings_backend="keyfile")
    with Session(chinese, shots, "failure-settings-zh") as session:
        login = chinese.frame("登录")
        session.window = login
        username = wait_for(login, "text", re.compile("用户名"))
        wait_until("the remembered username", lambda: text_of(username) == "alice")
        shots.take("22-login-zh-lang-only-dark")
    log("LANG=zh_CN.UTF-8 alone: the build tree's client speaks Chinese (and stays dark)")


# Keyboard input through the AT-SPI registry (XTest under X11).

KEYSYMS = {"Return": 0xff0d, "v": 0x76, "question": 0x3f, "comma": 0x2c, "f": 0x66,
           "Tab": 0xff09}
CONTROL_MASK = 1 << 2


def press(name, control=False):
    import pyatspi
    try:
        if control:
            pyatspi.Registry.generateKeyboardEvent(CONTROL_MASK, None, pyatspi.KEY_LOCKMODIFIERS)
        pyatspi.Registry.generateKeyboardEvent(KEYSYMS[name], None, pyatspi.KEY_SYM)
        if control:
            pyatspi.Registry.generateKeyboardEvent(CONTROL_MASK, None,
                                                   pyatspi.KEY_UNLOCKMODIFIERS)
        time.sleep(0.2)
        return True
    except Exception as e:
        log(f"note: cannot generate key events: {e}")
        return False


def type_keys(text):
    import pyatspi
    try:
        pyatspi.Registry.generateKeyboardEvent(0, text, pyatspi.KEY_STRING)
        time.sleep(0.3)
        return True
    except Exception as e:
        log(f"note: cannot type: {e}")
        return False


def start_accessibility_bus():
    launcher = "/usr/libexec/at-spi-bus-launcher"
    if not os.path.exists(launcher):
        skip("at-spi2-core is not installed (no at-spi-bus-launcher)")
    return subprocess.Popen([launcher, "--launch-immediately"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def start_window_manager():
    wm = shutil.which("openbox")
    if not wm:
        log("note: no openbox; running without a window manager")
        return None
    return subprocess.Popen([wm], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chatd", required=True)
    parser.add_argument("--chatctl", required=True)
    parser.add_argument("--client", required=True)
    parser.add_argument("--repo-config", required=True, help="config.json with the DH group")
    parser.add_argument("--localedir", required=True, help="the build's po dir")
    parser.add_argument("--out", required=True, help="where the screenshots go")
    args = parser.parse_args()
    for name in ("chatd", "chatctl", "client", "repo_config", "localedir", "out"):
        setattr(args, name, os.path.abspath(getattr(args, name)))

    if not os.environ.get("DISPLAY"):
        skip("no X display (run the ui suite under xvfb-run, as ci/test does)")
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        skip("no D-Bus session bus (run the ui suite under dbus-run-session, as ci/test does)")
    for tool in ("import",):
        if not shutil.which(tool):
            skip(f"{tool} (imagemagick) is not installed")
    import_pyatspi()

    helpers = [start_accessibility_bus(), start_window_manager()]
    time.sleep(0.5)
    world = {"dir": tempfile.mkdtemp(prefix="chat-ui-test-")}
    shots = Screenshots(args.out)
    status = 0
    try:
        chatd = Chatd(args.chatd, world["dir"], args.repo_config)
        world["chatd"] = chatd
        log(f"chatd listening on 127.0.0.1:{chatd.port}, key {chatd.fingerprint}")
        for name, pin in (("gui_config", "ask"), ("ctl_config", "accept-new")):
            path = os.path.join(world["dir"], name + ".json")
            with open(path, "w") as f:
                json.dump({"crypto": chatd.crypto,
                           "client": {"server_ip": "127.0.0.1", "server_port": chatd.port,
                                      "dialect": "v2", "pin": pin}}, f)
            world[name] = path
        world["chatctl"] = Chatctl(args.chatctl, world["dir"], world["ctl_config"])
        english_run(args, world, shots)
        chinese_run(args, world, shots)
        settings_run(args, world, shots)
        log("PASS: " + ", ".join(shots.paths))
    except Exception as e:  # a Failure, or a bug in the test: both fail it
        if not isinstance(e, Failure):
            import traceback
            traceback.print_exc()
        log(f"FAIL: {e}")
        status = 1
    finally:
        if "watch" in world:
            world["watch"].stop()
        if "chatd" in world:
            world["chatd"].stop()
            if status:
                log("chatd log:\n" + "\n".join(world["chatd"].log[-40:]))
        for helper in helpers:
            if helper and helper.poll() is None:
                helper.terminate()
        shutil.rmtree(world["dir"], ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
