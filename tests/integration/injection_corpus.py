"""Injection payloads for the diagnostics' arguments (src/common/diag.h).

Not a test module: the tests that queue diagnostics import it. Every entry of
PAYLOADS is a value that the argument check must refuse, so the server answers
400 when the command is queued and an agent never runs it. A payload that
would run something if it reached a shell creates a canary file: "{canary}"
in a value stands for its path (expand() fills it in), and a test passes only
if the file never appears.

The same payloads are written to tests/unit/data/diag-payloads.txt by
scripts/gen-diag-payloads.py, and test-diag.c asserts that ward_diag_set()
refuses each one, so the C check and this list cannot drift apart unnoticed.

VALID holds a working set of arguments per diagnostic, aimed at loopback, for
tests to start from ("{port}" stands for a listening port).
"""

CANARY = "{canary}"
PORT = "{port}"

# Every argument of every diagnostic, as in diag.c's spec table.
ARGS = {
    "logs": ["severity", "lines", "unit"],
    "disk_usage": ["path", "top_n"],
    "mounts": [],
    "ping": ["target", "count", "timeout"],
    "connect": ["target", "timeout"],
    "netstat": ["proto", "state"],
    "traceroute": ["target", "max_hops", "proto"],
}

# Valid arguments per diagnostic, every one of them given.
VALID = {
    "logs": {"severity": "info", "lines": "10", "unit": ""},
    "disk_usage": {"path": "/tmp", "top_n": "5"},
    "mounts": {},
    "ping": {"target": "127.0.0.1", "count": "1", "timeout": "2"},
    "connect": {"target": "127.0.0.1:" + PORT, "timeout": "2"},
    "netstat": {"proto": "tcp", "state": "listen"},
    "traceroute": {"target": "127.0.0.1", "max_hops": "2", "proto": "udp"},
}

# What kind each argument is, and a valid value to graft payloads onto.
KINDS = {
    ("logs", "severity"): ("word", "info"),
    ("logs", "lines"): ("int", "10"),
    ("logs", "unit"): ("unit", "sshd.service"),
    ("disk_usage", "path"): ("path", "/tmp"),
    ("disk_usage", "top_n"): ("int", "5"),
    ("ping", "target"): ("host", "127.0.0.1"),
    ("ping", "count"): ("int", "1"),
    ("ping", "timeout"): ("int", "2"),
    ("connect", "target"): ("host_port", "127.0.0.1:22"),
    ("connect", "timeout"): ("int", "2"),
    ("netstat", "proto"): ("word", "tcp"),
    ("netstat", "state"): ("word", "listen"),
    ("traceroute", "target"): ("host", "127.0.0.1"),
    ("traceroute", "max_hops"): ("int", "2"),
    ("traceroute", "proto"): ("word", "udp"),
}

# Out-of-range integers per argument: (min - 1, max + 1).
INT_BOUNDS = {
    ("logs", "lines"): (1, 1000),
    ("disk_usage", "top_n"): (1, 100),
    ("ping", "count"): (1, 10),
    ("ping", "timeout"): (1, 30),
    ("connect", "timeout"): (1, 30),
    ("traceroute", "max_hops"): (1, 30),
}

TOUCH = "touch " + CANARY

# Appended to a valid value: shell metacharacters, command substitution,
# redirections, line breaks and other control characters.
SUFFIXES = [
    ";" + TOUCH,
    "; " + TOUCH,
    "|" + TOUCH,
    "||" + TOUCH,
    "&&" + TOUCH,
    "&" + TOUCH,
    "$(" + TOUCH + ")",
    "`" + TOUCH + "`",
    " >" + CANARY,
    "\n" + TOUCH,
    "\r\n" + TOUCH,
    "\r",
    "\t",
    "\x1b[31m",
    "\x7f",
    "\u00a0",  # no-break space
    "%s%n%x",
]

# Whole values, for any argument: substitution, option injection, format
# strings, leading spaces and sizes past the 255-byte bound.
WHOLE = [
    "$(" + TOUCH + ")",
    "`" + TOUCH + "`",
    "${IFS}" + TOUCH,
    ";" + TOUCH,
    "|" + TOUCH,
    "&&" + TOUCH,
    "-oProxyCommand=" + TOUCH,
    "--help",
    "-f",
    "-c1 -p ff",
    "--output=" + CANARY,
    "%s%n%x%p",
    "\n",
    "x" * 300,
    "a" * 5000,
    "'" + TOUCH + "'",
    '"$(' + TOUCH + ')"',
]

# Per kind: values that look close to valid but are not.
BY_KIND = {
    "host": [
        "fe80::1%eth0",
        "fe80::1%25eth0",
        "[::1]",
        "[127.0.0.1]",
        "localhost.",
        "127.0.0.1.",
        "1.2.3",
        "127.1",
        "0x7f000001",
        "0x7f.0.0.1",
        "2130706433",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3.4.5",
        "host.123",
        "a_b.example",
        "host-",
        "a..b",
        ".host",
        "a" * 64 + ".example",
        ("a" * 63 + ".") * 4 + "com",
        "127.0.0.1/8",
        "127.0.0.1:80",
        "http://127.0.0.1",
        "user@127.0.0.1",
        "127.0.0.1 -c 1000",
        " 127.0.0.1",
        "",
        "\u0031\u0032\u0037.0.0.1".replace("1", "\uff11"),  # full-width digits
        "l\u043ecalhost",  # Cyrillic o
        "xn--80ak6aa92e.com\u200b",  # zero-width space
        "~root",
        "*",
    ],
    "host_port": [
        "127.0.0.1",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:080",
        "127.0.0.1:+80",
        "127.0.0.1:-1",
        "127.0.0.1:0x16",
        "127.0.0.1: 22",
        "127.0.0.1:22 ",
        "127.0.0.1:22/tcp",
        "127.0.0.1:22:33",
        "::1:22",
        "[::1]",
        "[::1]22",
        "[::1]:",
        ":22",
        "[fe80::1%eth0]:22",
        "[127.0.0.1]:22",
        "[localhost]:22",
        "localhost.:22",
        "0x7f000001:22",
        "127.0.0.1:\uff12\uff12",  # full-width digits
        " 127.0.0.1:22",
        "",
    ],
    "path": [
        "/../../etc/shadow",
        "/tmp/../etc",
        "/tmp/..",
        "/tmp/./x",
        "/.",
        "/..",
        "relative/path",
        "tmp",
        "~root",
        "~/x",
        "/a//b",
        "//",
        "/tmp/",
        "/tmp/*",
        "/tmp/?",
        "/tmp/[ab]",
        "/tmp/\\x",
        "/tmp/'x'",
        "/tmp/\"x\"",
        "/tmp/{a,b}",
        "/tmp/!x",
        "/tmp/#x",
        " /tmp",
        "/" + "a" * 300,
        "/tmp/\u0430",  # Cyrillic a
        "/tmp\u2215etc",  # division slash
        "",
        "file:///etc/shadow",
    ],
    "int": [
        "-1",
        "0x10",
        "1.5",
        "1e3",
        "010",
        "00",
        "+5",
        " 5",
        "5 ",
        "5\n",
        "99999999999999999999",
        "1" * 300,
        "",
        "\uff15",  # full-width 5
        "\u0665",  # Arabic-Indic 5
        "five",
    ],
    "word": [
        "",
        "all ",
        " all",
        "ALL",
        "Info",
        "warn",
        "error",
        "everything",
        "tcp6",
        "icmp6",
        "tcp,udp",
        "tcp udp",
        "*",
        "\u0456nfo",  # Cyrillic i
    ],
    "unit": [
        "sshd service",
        "../etc/shadow",
        "/etc/shadow",
        ".hidden",
        "*",
        "ssh*",
        "ssh?.service",
        "[s]shd",
        "sshd.service\\x2d",
        " sshd",
        "sshd.service\u200b",
        "\u0455shd.service",  # Cyrillic s
        "u" * 300,
    ],
}

# Words and integers that are valid for some other argument, not this one.
WRONG_WORDS = {
    ("logs", "severity"): ["all", "tcp", "listen", "icmp", "warning,err"],
    ("netstat", "proto"): ["icmp", "listen", "info", "raw"],
    ("netstat", "state"): ["tcp", "udp", "closed", "time_wait"],
    ("traceroute", "proto"): ["tcp", "all", "listen", "ip"],
}


def _build():
    seen = set()
    payloads = []

    def add(diagnostic, arg, value):
        if (diagnostic, arg, value) not in seen:
            seen.add((diagnostic, arg, value))
            payloads.append({"diagnostic": diagnostic, "arg": arg, "value": value})

    for (diagnostic, arg), (kind, base) in KINDS.items():
        for suffix in SUFFIXES:
            add(diagnostic, arg, base + suffix)
        for value in WHOLE:
            add(diagnostic, arg, value)
        for value in BY_KIND[kind]:
            add(diagnostic, arg, value)
        if kind == "int":
            lo, hi = INT_BOUNDS[(diagnostic, arg)]
            for value in (lo - 1, hi + 1, -hi, hi * 1000):
                add(diagnostic, arg, str(value))
            add(diagnostic, arg, "0%d" % hi)
        for value in WRONG_WORDS.get((diagnostic, arg), []):
            add(diagnostic, arg, value)
    return payloads


PAYLOADS = _build()


def expand(value, canary_path, port=None):
    """value with "{canary}" replaced by canary_path (and "{port}" by port, if given)."""
    value = value.replace(CANARY, str(canary_path))
    if port is not None:
        value = value.replace(PORT, str(port))
    return value


def valid_args(diagnostic, port):
    """A copy of VALID[diagnostic] with "{port}" filled in."""
    return {k: expand(v, "", port) for k, v in VALID[diagnostic].items()}


def self_check():
    """Raises AssertionError unless the corpus is large and covers every argument."""
    assert len(PAYLOADS) >= 240, len(PAYLOADS)
    assert set(ARGS) == set(VALID), "VALID must name every diagnostic"
    for diagnostic, args in ARGS.items():
        assert set(VALID[diagnostic]) == set(args), diagnostic
        for arg in args:
            n = sum(1 for p in PAYLOADS if p["diagnostic"] == diagnostic and p["arg"] == arg)
            assert n >= 10, "%s %s has %d payloads" % (diagnostic, arg, n)
    for p in PAYLOADS:
        assert p["arg"] in ARGS[p["diagnostic"]], p
        assert "\0" not in p["value"], p
    for needle in (";", "|", "&&", "$(", "`", "\n", "\r", "-o", "--help", "/../", "%n"):
        assert any(needle in p["value"] for p in PAYLOADS), needle
    assert any(len(p["value"]) >= 5000 for p in PAYLOADS)
    assert any(any(ord(c) > 0x7E for c in p["value"]) for p in PAYLOADS)


if __name__ == "__main__":
    self_check()
    print("%d payloads over %d arguments" % (len(PAYLOADS), len(KINDS)))
