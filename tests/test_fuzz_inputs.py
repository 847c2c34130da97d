"""Fuzz corpus: malformed input to every CLI command and every HTTP endpoint (issue 11).

Every case must be refused the way the README promises. The CLI exits with status 2 and
prints exactly one `error: ...` line on stderr, never a traceback; the API answers a 4xx whose
body names the field at fault, never a 5xx, and still answers normally afterwards.

Each case runs under a hang guard (`HANG_S`). A refusal comes before any real work, so a case
that reaches the guard is a hang (trial division of 2^64, a grid of 10^8 points being built),
not a slow machine: the guard is an order of magnitude above the slowest refusal.

The named cases reproduce each failure listed in the issue; the hypothesis tests draw hostile
numbers (zero, negative, past int64, NaN, infinities, in every spelling a shell or a JSON
body passes) and hostile files (random bytes, deep nesting, truncated text) and are marked
`slow`.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shlex
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support import environment, every_command
from typer.testing import CliRunner

from chipswitch.calibrate.profile import (
    BandwidthPoint,
    CalibrationProfile,
    MatmulPoint,
)
from chipswitch.catalog import DATA_DIR, ENV_VAR
from chipswitch.cli.app import app
from chipswitch.parallel.enumerate import MAX_WORKERS
from chipswitch.web import create_app

#: Seconds after which a case counts as a hang (see the module docstring).
HANG_S = 30
RUN = CliRunner()
PUBLIC_CSV = DATA_DIR / "validation" / "public.csv"
JOB = ["-m", "llama2-7b", "-b", "64", "-s", "2048"]  # plan/compare without the chip count
FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Hang(Exception):
    """A case ran past HANG_S."""


@contextmanager
def hang_guard(seconds: int = HANG_S) -> Iterator[None]:
    def _raise(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(autouse=True)
def _no_env_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


# -- the CLI ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    code: int
    stdout: str
    stderr: str


def cli(*args: str) -> Refusal:
    with hang_guard():
        res = RUN.invoke(app, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise AssertionError(f"{args}: raised {res.exception!r}") from res.exception
    return Refusal(res.exit_code, res.stdout, res.stderr)


def assert_refused(args: tuple[str, ...] | list[str], *fragments: str) -> str:
    """Exit 2, exactly one `error:` line on stderr (its fragments present), no traceback."""
    r = cli(*args)
    shown = f"{list(args)}\nstdout: {r.stdout[-800:]}\nstderr: {r.stderr[-800:]}"
    assert r.code == 2, shown
    assert "Traceback" not in r.stdout + r.stderr, shown
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], shown
    assert not [ln for ln in lines if not ln.startswith(("error: ", "note: "))], shown
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def _chip_file(tmp: Path, name: str, peak: str, extra: str = "") -> Path:
    """A catalog directory with a copy of the H100 whose dense BF16 peak is `peak`, with the
    `extra` YAML lines appended."""
    text = (DATA_DIR / "chips" / "h100-sxm.yaml").read_text(encoding="utf-8") + extra
    for old, new in (
        ("peak_bf16_dense_tflops: {value: 989.4", f"peak_bf16_dense_tflops: {{value: {peak}"),
        ("id: h100-sxm\n", f"id: {name}\n"),
        ("aliases:\n- nvidia_h100_sxm5\n- h100\n- h100-sxm5\n", "aliases: []\n"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    folder = tmp / f"catalog-{name}" / "chips"
    folder.mkdir(parents=True)
    (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder.parent


def _cpu_profile_labelled_h100() -> CalibrationProfile:
    env = environment(
        "cpu",
        "test CPU",
        "chipswitch calibrate --device cpu --hardware h100",
        memory_bytes=None,
    )
    mm = MatmulPoint(
        op="fc1", hidden=256, tokens=512, m=512, n=1024, k=256, precision="fp32",
        seconds=1e-3, flops_per_s=2.0 * 512 * 1024 * 256 / 1e-3,
    )  # fmt: skip
    return CalibrationProfile(
        environment=env,
        chip_id="h100-sxm",
        train_precision="fp32",
        matmul=[mm],
        memory=[BandwidthPoint(size_bytes=64e6, seconds=0.01, bytes_per_s=1.28e10)],
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Hostile files, one of each kind the commands read or write."""
    tmp = tmp_path_factory.mktemp("fuzz")
    f: dict[str, Path] = {"dir": tmp / "a-directory"}
    f["dir"].mkdir()
    f["binary"] = tmp / "binary.yaml"
    f["binary"].write_bytes(bytes(range(256)) * 8)  # 0x80.. are not UTF-8
    f["deep_yaml"] = tmp / "deep.yaml"
    f["deep_yaml"].write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    f["deep_json"] = tmp / "deep.json"
    f["deep_json"].write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    f["hello"] = tmp / "hello.yaml"
    f["hello"].write_text("hello\n", encoding="utf-8")
    f["missing"] = tmp / "no-such-file.yaml"
    f["cpu_h100"] = tmp / "cpu-labelled-h100.json"
    f["cpu_h100"].write_text(_cpu_profile_labelled_h100().model_dump_json(), encoding="utf-8")
    for name, peak in (
        ("peak0", "0"),
        ("peaknan", ".nan"),
        ("peakinf", ".inf"),
        ("peak1e300", "1e300"),
    ):
        f[name] = _chip_file(tmp, name, peak)
    f["mxu0"] = _chip_file(
        tmp, "mxu0", "989.4", "matrix_unit: {value: 0, source: [klockwood_h100]}\n"
    )
    future = tmp / "catalog-future" / "offerings"
    future.mkdir(parents=True)
    text = (DATA_DIR / "offerings" / "aws-p5.yaml").read_text(encoding="utf-8")
    text = text.replace("id: aws-p5\n", "id: aws-p5-future\n").replace(
        "'2025-03-17'", "'2099-01-01'"
    )
    (future / "aws-p5-future.yaml").write_text(text, encoding="utf-8")
    f["future"] = future.parent
    header, row1, row2 = PUBLIC_CSV.read_text(encoding="utf-8").splitlines()[:3]
    f["quote_csv"] = tmp / "open-quote.csv"
    cut = row1[: row1.rfind(',"')]  # the row without its last (quoted) field
    f["quote_csv"].write_text(f'{header}\n{cut},"an open quote\n{row2}\n', encoding="utf-8")
    f["unusable_csv"] = tmp / "unusable.csv"
    unusable = row1.replace(",a100-80gb,", ",no-such-chip,")
    f["unusable_csv"].write_text(f"{header}\n{unusable}\n", encoding="utf-8")
    f["bom_csv"] = tmp / "excel.csv"
    f["bom_csv"].write_bytes(b"\xef\xbb\xbf" + f"{header}\r\n{row1}\r\n".encode())
    sweep = "models: llama2-7b\nchips: [h100-sxm]\nseq_len: 2048\nglobal_batch: 64\n"
    f["big_sweep"] = tmp / "big.yaml"  # 2 x 5 x 4096 x 3 x 16 = 1,966,080 points
    f["big_sweep"].write_text(
        "models: [llama2-7b, llama2-13b]\nchips: [h100-sxm, a100-80gb, b200, mi300x, tpu-v5p]\n"
        "chip_counts: {start: 1, stop: 4096, step: 1}\nseq_len: [2048, 4096, 8192]\n"
        "global_batch: {start: 64, stop: 1024, step: 64}\ntokens: 1e12\n",
        encoding="utf-8",
    )
    f["huge_sweep"] = tmp / "huge.yaml"  # 4096 x 4096 = 16,777,216 points
    f["huge_sweep"].write_text(
        "models: llama2-7b\nchips: h100-sxm\nchip_counts: {start: 1, stop: 4096, step: 1}\n"
        "seq_len: 2048\nglobal_batch: {start: 1, stop: 4096, step: 1}\ntokens: 1e12\n",
        encoding="utf-8",
    )
    f["long_horizon"] = tmp / "long-horizon.yaml"
    scenario = (DATA_DIR / "scenarios" / "amazon-anthropic-2024.yaml").read_text(encoding="utf-8")
    assert "horizon_months:\n  value: 30\n" in scenario
    f["long_horizon"].write_text(
        scenario.replace("horizon_months:\n  value: 30\n", "horizon_months:\n  value: 1000000\n"),
        encoding="utf-8",
    )
    f["inf_sweep"] = tmp / "inf.yaml"
    f["inf_sweep"].write_text(sweep + "chip_counts: 8\ntokens: .inf\n", encoding="utf-8")
    f["small_sweep"] = tmp / "small.yaml"
    f["small_sweep"].write_text(sweep + "chip_counts: 8\ntokens: 1e12\n", encoding="utf-8")
    f["results"] = tmp / "small.parquet"
    assert cli("sweep", str(f["small_sweep"]), "-o", str(f["results"])).code == 0
    return f


PLAN_CMD = "plan -m llama2-7b -b 64 -s 2048 -H h100-sxm"
#: (command line, fragments its error line must contain); {name} is a file of `files`.
CLI_CASES: list[tuple[str, tuple[str, ...]]] = [
    # files that are not text, nested past the recursion limit, directories, missing
    (f"{PLAN_CMD} -n 8 --calibration {{binary}}", ("not UTF-8",)),
    (f"{PLAN_CMD} -n 8 --calibration {{deep_json}}", ("nested too deeply",)),
    (f"{PLAN_CMD} -n 8 --calibration {{dir}}", ("calibration profile",)),
    ("measure -m llama2-7b --micro-batch 1 -s 128 --calibration {binary}", ("not UTF-8",)),
    ("validate {binary}", ("not UTF-8",)),
    ("validate {dir}", ("directory",)),
    ("validate {missing}", ("No such file",)),
    ("sweep {deep_yaml}", ("nested too deeply",)),
    ("sweep {binary}", ("not UTF-8",)),
    ("decide {deep_yaml}", ("nested too deeply",)),
    ("decide {binary}", ("not UTF-8",)),
    ("decide {missing}", ("No such file",)),
    ("sweep-report {binary}", ("Parquet",)),
    ("--catalog {binary} hardware list", ("catalog directory",)),
    # outputs that cannot be written
    ("sweep {small_sweep} -o {dir}", ("is a directory",)),
    ("sweep {small_sweep} -o {binary}/x.parquet", ("cannot",)),
    ("sweep-report {results} --html {dir}", ("is a directory",)),
    ("calibrate --device cpu --out {dir}", ("is a directory",)),
    # catalog values that would divide by zero or poison every answer
    ("--catalog {peak0} plan -m llama2-7b -b 64 -s 2048 -H peak0 -n 8", ("peak0.yaml", "bf16")),
    ("--catalog {peaknan} hardware list", ("peaknan.yaml", "finite")),
    ("--catalog {peakinf} hardware list", ("peakinf.yaml", "finite")),
    ("--catalog {peak1e300} hardware list", ("peak1e300.yaml", "plausible")),
    ("--catalog {mxu0} hardware list", ("mxu0.yaml", "matrix_unit", "plausible")),
    ("--catalog {future} prices list", ("aws-p5-future.yaml", "future")),
    # counts past what the search takes: no trial division of 2^64, no int64 wrap
    (f"{PLAN_CMD} -n {10**30}", ("chips", f"{MAX_WORKERS:,}")),
    (f"{PLAN_CMD} -n {2**64}", ("chips",)),
    (f"{PLAN_CMD} -n 4611686018427387904", ("chips",)),
    (f"plan -m llama2-7b -H h100-sxm -n {10**18} -b 256 -s 2048", ("chips",)),
    (f"plan -m llama2-7b -H h100-sxm -n 8 -b {10**20} -s 2048", ("global batch",)),
    (f"plan -m llama2-7b -H h100-sxm -n 8 -b 64 -s {2**40}", ("sequence length",)),
    (f"compare -m llama2-7b -b 64 -s 2048 -n {2**64} -t 1e12 -H h100-sxm", ("chips",)),
    # numbers that are not finite, or not numbers
    (f"{PLAN_CMD} -n 8 --tokens inf", ("tokens",)),
    (f"{PLAN_CMD} -n 8 --tokens 1e400", ("tokens",)),
    (f"{PLAN_CMD} -n 8 --tokens nan", ("--tokens",)),
    (f"{PLAN_CMD} -n abc", ("--chips",)),
    (f"{PLAN_CMD} -n 0", ("--chips",)),
    ("compare -m llama2-7b -b 64 -s 2048 -n 8 -t inf", ("tokens",)),
    # fp8 on chips without FP8 units
    ("plan -m llama2-7b -b 64 -s 2048 -H a100-80gb -n 8 --precision fp8", ("a100-80gb", "FP8")),
    ("plan -m llama2-7b -b 64 -s 2048 -H tpu-v4 -n 8 --precision fp8", ("tpu-v4", "FP8")),
    (f"{PLAN_CMD} -n 8 --precision fp4", ("precision",)),
    # a CPU's profile presented as an H100's
    (f"{PLAN_CMD} -n 8 --calibration {{cpu_h100}}", ("CPU", "h100-sxm")),
    (
        "calibrate --device cpu --hardware h100 -o {dir}/p.json",
        ("CPU",) if importlib.util.find_spec("torch") else ("PyTorch",),
    ),
    # validation CSVs
    ("validate {quote_csv}", ("quote",)),
    ("validate {unusable_csv}", ("no row could be modelled", "no-such-chip")),
    # sweeps too large to run unasked, or at all, and non-finite tokens
    ("sweep {big_sweep}", ("1,966,080 points", "core-hours", "--yes")),
    ("sweep {huge_sweep} --yes", ("16,777,216 points", "maximum")),
    ("sweep {inf_sweep}", ("tokens",)),
    # Monte Carlo sizes that would not fit in memory, a seed numpy refuses
    ("decide --samples 10000000", ("--samples", "GiB")),
    (f"decide --samples {10**9}", ("--samples",)),
    ("decide --seed -1", ("--seed",)),
    ("decide {long_horizon}", ("horizon_months", "GiB")),
    (f"decide --set horizon_months={'[' * 5000}", ("--set",)),
    ("decide --set discount_rate_per_year=1e400", ("discount_rate_per_year",)),
    # export: the same job checks, and a file it cannot write
    (f"export -f megatron -o - -m llama2-7b -H h100-sxm -b 64 -s 2048 -n {2**64}", ("chips",)),
    ("export -f megatron -o {dir} -m llama2-7b -H h100-sxm -b 64 -s 2048 -n 8", ("directory",)),
    ("export -f nemo -o - -m llama2-7b -H h100-sxm -b 64 -s 2048 -n 8", ("nemo",)),
    # names and choices
    ("hardware show h100-sxm6", ("did you mean",)),
    ("models show no-such-model", ("model",)),
    ("prices list --cloud moon", ("cloud",)),
    ("serve --log-level bogus", ("--log-level",)),
    ("serve --port 70000", ("--port",)),
    ("serve --cors-origin *", ("--cors-origin",)),
    ("no-such-command", ("No such command",)),
]


@pytest.mark.parametrize(("line", "fragments"), CLI_CASES, ids=[c[0][:60] for c in CLI_CASES])
def test_named_case_is_one_error_line(
    files: dict[str, Path], line: str, fragments: tuple[str, ...]
) -> None:
    """Each failure listed in issue 11, and its neighbours: one `error:` line, exit 2."""
    args = [part.format(**{k: str(v) for k, v in files.items()}) for part in shlex.split(line)]
    assert_refused(args, *fragments)


@pytest.mark.parametrize("command", every_command(), ids="-".join)
def test_every_command_reports_usage_errors_in_one_line(command: list[str]) -> None:
    """An unknown option is the same one `error:` line on every command, not a boxed panel."""
    line = assert_refused([*command, "--no-such-option"], "--no-such-option", "-h")
    assert "│" not in line and "╭" not in line


def test_a_csv_with_a_byte_order_mark_is_read(files: dict[str, Path]) -> None:
    """Excel writes UTF-8 CSVs with a BOM: the first column is still `id`."""
    r = cli("validate", str(files["bom_csv"]), "--json")
    assert r.code == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert [row["id"] for row in rows] == [PUBLIC_CSV.read_text().splitlines()[1].split(",")[0]]


def test_an_output_error_writes_nothing(files: dict[str, Path], tmp_path: Path) -> None:
    """A refused --out leaves no partial or temporary file behind."""
    assert_refused(["sweep", str(files["small_sweep"]), "-o", str(tmp_path)], "is a directory")
    assert list(tmp_path.iterdir()) == []


# hostile numbers as a shell passes them: text
BAD_COUNTS = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=MAX_WORKERS + 1, max_value=2**256),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "1e3", "0x10", "1_000", "", " ", "٣", "2^64"]),
).map(str)
BAD_TOKENS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 1 <= x <= 1e20),
    st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e400", "-0", "", "1e20000", "0x1p3"]),
).map(str)


@pytest.mark.slow
@FUZZ
@given(chips=BAD_COUNTS)
def test_fuzzed_chip_counts_are_refused(chips: str) -> None:
    assert_refused(["plan", *JOB, "-H", "h100-sxm", "-n", chips])


@pytest.mark.slow
@FUZZ
@given(tokens=BAD_TOKENS)
def test_fuzzed_token_counts_are_refused(tokens: str) -> None:
    assert_refused(["plan", *JOB, "-H", "h100-sxm", "-n", "8", "--tokens", tokens])


@pytest.mark.slow
@FUZZ
@given(name=st.text(min_size=1, max_size=30).filter(lambda s: not s.startswith("-")))
def test_fuzzed_chip_names_are_refused(name: str) -> None:
    r = cli("plan", *JOB, "-H", name, "-n", "8", "--json")
    if r.code == 0:  # the drawn text happened to name a chip
        assert json.loads(r.stdout)["hardware"]
        return
    assert_refused(["plan", *JOB, "-H", name, "-n", "8"])


# hostile files: random bytes, deep nesting, truncated documents
HOSTILE_FILES = st.one_of(
    st.binary(max_size=2000),
    st.integers(min_value=1000, max_value=20_000).map(lambda n: ("[" * n).encode()),
    st.integers(min_value=1000, max_value=20_000).map(lambda n: ("a: " + "{a: " * n).encode()),
    st.text(max_size=300).map(lambda s: s.encode("utf-16")),
    st.sampled_from(
        [b"", b"\xef\xbb\xbf", b"hello", b"- 1\n- 2", b"{", b"a: !!python/object:os.system x"]
    ),
)


@pytest.mark.slow
@FUZZ
@given(data=HOSTILE_FILES)
def test_fuzzed_files_are_refused_by_every_reader(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("drawn") / "input"
    path.write_bytes(data)
    p = str(path)
    for args in (
        ["validate", p],
        ["sweep", p, "-o", p + ".parquet"],
        ["decide", p, "--samples", "100"],
        ["plan", *JOB, "-H", "h100-sxm", "-n", "8", "--calibration", p],
        ["sweep-report", p],
    ):
        assert_refused(args)


# -- the HTTP API -----------------------------------------------------------------------------
PLAN_BODY = {
    "model": "llama2-7b",
    "hardware": "h100-sxm",
    "chips": 8,
    "global_batch": 64,
    "seq": 2048,
}
COMPARE_BODY = {"model": "llama2-7b", "chips": 8, "global_batch": 64, "seq": 2048, "tokens": 1e12}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://localhost") as c:
        yield c


def post(client: TestClient, path: str, body: Any, ctype: str = "application/json") -> Any:
    raw = body if isinstance(body, str | bytes) else json.dumps(body)  # NaN/Infinity as JSON5
    with hang_guard():
        return client.post(path, content=raw, headers={"content-type": ctype})


def assert_4xx(resp: Any, *fragments: str) -> str:
    """A 4xx whose JSON body contains every fragment (the field at fault)."""
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:500])
    text = json.dumps(resp.json())
    for fragment in fragments:
        assert fragment in text, (fragment, text[:500])
    return text


def api_cases() -> list[tuple[str, Any, str, tuple[str, ...]]]:
    """(path, body, content type, fragments) for each named case."""
    raw = "application/json"
    cases: list[tuple[str, Any, str, tuple[str, ...]]] = []
    for value in ("NaN", "Infinity", "-Infinity", "1e400"):
        plan = json.dumps(PLAN_BODY)[:-1] + f', "tokens": {value}}}'
        cases.append(("/api/plan", plan, raw, ("tokens", "finite")))
        compare = (
            json.dumps({**COMPARE_BODY, "tokens": 1})[:-1].replace(
                '"tokens": 1', f'"tokens": {value}'
            )
            + "}"
        )
        cases.append(("/api/compare", compare, raw, ("tokens", "finite")))
    cases += [
        ("/api/plan", {**PLAN_BODY, "chips": True}, raw, ("chips",)),
        ("/api/plan", {**PLAN_BODY, "chips": "64"}, raw, ("chips",)),
        ("/api/plan", {**PLAN_BODY, "chips": 4611686018427387904}, raw, ("chips",)),
        ("/api/plan", {**PLAN_BODY, "chips": 10**30}, raw, ("chips",)),
        ("/api/plan", {**PLAN_BODY, "seq": 2.5}, raw, ("seq",)),
        ("/api/plan", {**PLAN_BODY, "hardware": "a100-80gb", "precision": "fp8"}, raw, ("FP8",)),
        ("/api/plan", {**PLAN_BODY, "price": "../../etc/passwd"}, raw, ("price",)),
        ("/api/compare", {**COMPARE_BODY, "hardware": []}, raw, ("hardware",)),
        ("/api/compare", {**COMPARE_BODY, "hardware": "h100"}, raw, ("hardware",)),
        ("/api/plan", "[" * 100_000 + "]" * 100_000, raw, ("nested",)),
        ("/api/plan", '{"model": ' + "[" * 100_000 + "]" * 100_000 + "}", raw, ("nested",)),
        ("/api/plan", b"\xff\xfe\x00{", raw, ("body",)),
        ("/api/plan", "{", raw, ("JSON",)),
        ("/api/decide", "hello", "application/yaml", ("body", "scenario")),
        ("/api/decide", "", "application/yaml", ("empty",)),
        ("/api/decide", "[" * 5000, "application/yaml", ("nested",)),
        ("/api/decide", b"\xff\xfe", "application/yaml", ("UTF-8",)),
        ("/api/decide", "a: !!python/object/apply:os.system [echo]", "application/yaml", ("YAML",)),
        ("/api/decide", {"scenario": "../../etc/passwd"}, raw, ("scenario",)),
        ("/api/decide", {"samples": "500"}, raw, ("samples",)),
        ("/api/decide", {"samples": 10**9}, raw, ("samples",)),
        ("/api/decide", {"seed": -1}, raw, ("seed",)),
        ("/api/decide", "<x/>", "application/xml", ("content type",)),
    ]
    return cases


def test_every_named_api_case_is_a_4xx_naming_the_field(client: TestClient) -> None:
    cases = api_cases()
    assert len(cases) >= 30
    for path, body, ctype, fragments in cases:
        assert_4xx(post(client, path, body, ctype), *fragments)
    for path in ("/api/chips/h100-sxm6", "/api/models/..%2F..%2Fetc", "/api/scenarios/../x"):
        with hang_guard():
            assert_4xx(client.get(path))
    with hang_guard():
        assert_4xx(client.get("/api/chips", params={"vendor": "moon"}), "vendor")
    assert client.get("/api/chips").status_code == 200  # still answering


def test_requests_for_another_host_are_refused() -> None:
    """DNS rebinding: only loopback names and the configured ones are answered."""
    with TestClient(create_app(), base_url="http://localhost") as c:
        for host in ("attacker.example", "attacker.example:8000", "127.0.0.1.evil.example", ""):
            assert_4xx(c.get("/api/chips", headers={"host": host}), "Host")
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"):
            assert c.get("/api/chips", headers={"host": host}).status_code == 200, host
    app = create_app(allowed_hosts=("chips.internal",))
    with TestClient(app, base_url="http://chips.internal") as c:
        assert c.get("/api/chips").status_code == 200
        assert c.get("/api/chips", headers={"host": "other.internal"}).status_code == 400


#: JSON values no field of the API accepts: not numbers, not finite, wrong containers.
NOT_A_VALUE = st.one_of(
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)
#: Numbers past every bound of a count (chips, batch, length) and of tokens (1e20).
BAD_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 0 < x <= 1e20),
    st.integers(max_value=0),
    st.integers(min_value=2**67, max_value=2**200),
    st.text(max_size=8),  # "64" is not 64
    st.none(),
)
COUNT_FIELDS = ["chips", "global_batch", "seq", "top"]
OTHER_FIELDS = [
    "model", "hardware", "precision", "price", "pareto", "failure_rate",
    "checkpoint_interval_min", "storage_bandwidth_gb_per_s", "price_type", "framework", "plan",
]  # fmt: skip
EXPORT_BODY = {**PLAN_BODY, "framework": "megatron"}
ENDPOINTS = [("/api/plan", PLAN_BODY), ("/api/compare", COMPARE_BODY), ("/api/export", EXPORT_BODY)]


@pytest.mark.slow
@settings(FUZZ, max_examples=150)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    field=st.sampled_from([*COUNT_FIELDS, "tokens", *OTHER_FIELDS]),
    data=st.data(),
)
def test_fuzzed_api_fields_are_4xx_naming_the_field(
    client: TestClient, endpoint: tuple[str, dict[str, Any]], field: str, data: st.DataObject
) -> None:
    """A hostile value in any field of /api/plan, /api/compare or /api/export (a field the
    endpoint does not have included) is a 4xx naming it; the server then answers normally."""
    numeric = field in COUNT_FIELDS or field == "tokens"
    value = data.draw(st.one_of(NOT_A_VALUE, BAD_NUMBER) if numeric else NOT_A_VALUE)
    assume(not (field == "tokens" and type(value) is int and 0 < value <= 1e20))  # valid
    path, base = endpoint
    assume(not (field == "pareto" and type(value) is bool and path == "/api/plan"))  # valid
    assert_4xx(post(client, path, {**base, field: value}), field)
    assert client.get("/api/limits").status_code == 200  # still answering


@pytest.mark.slow
@FUZZ
@given(
    field=st.sampled_from(["samples", "seed", "objective", "pair", "set", "lhs", "scenario"]),
    value=st.one_of(NOT_A_VALUE, BAD_NUMBER),
)
def test_fuzzed_decide_fields_are_4xx(client: TestClient, field: str, value: Any) -> None:
    """/api/decide refuses a hostile field before any Monte Carlo runs (the app's sample limit
    is the default, so an accepted request would take seconds, not milliseconds)."""
    assume(not (field == "lhs" and type(value) is bool))  # valid
    assume(not (field in ("objective", "pair") and value is None))  # None means the default
    assume(not (field == "seed" and type(value) is int and 0 <= value < 2**63))  # valid
    assume(not (field == "set" and value == []))  # no overrides
    assert_4xx(post(client, "/api/decide", {"samples": 100, field: value}))
    assert client.get("/api/limits").status_code == 200
