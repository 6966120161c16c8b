"""The explorer's server: token, static files only, bounded and validated parameters, concurrent
views with the right numbers, cancellation that leaves the model unchanged."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import torch
from starlette.testclient import TestClient

from mmattr.insights.server import build_app
from tests.insights.conftest import expected_view

TOKEN = "secret-token"


@pytest.fixture
def client(explorer):
    with TestClient(build_app(explorer, TOKEN)) as made:
        yield made


def _wait(client, job: dict, headers: dict, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.02)
        job = client.get(f"/api/job/{job['job']}", headers=headers).json()
    return job


def test_every_route_needs_the_token(client):
    for path in ("/", "/static/explorer.js", "/api/state", "/api/job/1"):
        assert client.get(path).status_code == 403
        assert client.get(path, params={"token": "wrong"}).status_code == 403
    assert client.post("/api/run", json={"example": 0}).status_code == 403
    by_header = client.get("/api/state", headers={"X-Mmattr-Token": TOKEN})
    by_query = client.get("/api/state", params={"token": TOKEN})
    assert by_header.status_code == by_query.status_code == 200
    assert [row["index"] for row in by_query.json()["examples"]] == list(range(6))
    assert "export default" in client.get("/static/explorer.js", params={"token": TOKEN}).text


def test_every_response_has_the_security_headers(client):
    """CSP (scripts and styles from the server only, no inline script, data: images),
    nosniff and no Referer, on pages, files, API answers and errors alike."""
    responses = [
        client.get("/", params={"token": TOKEN}),
        client.get("/static/main.js", params={"token": TOKEN}),
        client.get("/api/state", params={"token": TOKEN}),
        client.get("/api/state"),  # 403
        client.get("/static/nothing.js", params={"token": TOKEN}),  # 404
        client.post("/api/run", json={"example": 99}, params={"token": TOKEN}),  # 400
        client.get("/api/run", params={"token": TOKEN}),  # 405
        client.get("/no/such/route"),  # 404 from the router
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 403, 404, 400, 405, 404]
    for response in responses:
        policy = response.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["img-src"] == "'self' data:"
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    page = responses[0].text
    assert "<script>" not in page and 'type="module">' not in page  # no inline script
    assert f'src="static/main.js?token={TOKEN}"' in page


@pytest.mark.parametrize(
    "path",
    ["/static/../server.py", "/static/%2e%2e/server.py", "/static/..%2f_settings.py",
     "/static/explorer.py", "/static//etc/passwd", "/static/%2fetc%2fpasswd"],
)  # fmt: skip
def test_nothing_outside_the_static_folder(client, path):
    response = client.get(path, params={"token": TOKEN})
    assert response.status_code == 404
    assert "import" not in response.text and "root:" not in response.text


@pytest.mark.parametrize(
    ("request_body", "named"),
    [
        ({"example": 6}, "example"),
        ({"example": -1}, "example"),
        ({"example": "0; rm"}, "example"),
        ({"method": "integrated_gradients", "n_steps": 0}, "n_steps"),
        ({"method": "integrated_gradients", "n_steps": 100_000}, "n_steps"),
        ({"method": "gradient_shap", "n_samples": 1.5}, "n_samples"),
        ({"method": "eval"}, "method"),
        ({"target": 3}, "target"),
        ({"baseline": "noise"}, "baseline"),
        ({"pickle": 1}, "unknown keys"),
        ([1, 2], "JSON object"),
    ],
)
def test_out_of_bounds_parameters_get_a_message(client, request_body, named):
    response = client.post("/api/run", json=request_body, headers={"X-Mmattr-Token": TOKEN})
    assert response.status_code == 400
    assert named in response.json()["error"]


def test_bad_bodies_get_a_message(client):
    headers = {"X-Mmattr-Token": TOKEN}
    not_json = client.post("/api/run", content=b"{nope", headers=headers)
    too_big = client.post("/api/run", content=b" " * 5000 + b"{}", headers=headers)
    assert (not_json.status_code, too_big.status_code) == (400, 400)
    assert "not JSON" in not_json.json()["error"] and "at most 4096" in too_big.json()["error"]
    assert client.get("/api/job/999", headers=headers).status_code == 404


def test_view_equals_explain(client, explorer):
    headers = {"X-Mmattr-Token": TOKEN}
    body = {"example": 2, "method": "integrated_gradients", "n_steps": 16}
    job = _wait(client, client.post("/api/run", json=body, headers=headers).json(), headers)
    assert job["status"] == "done"
    want = expected_view(explorer, 2, "integrated_gradients", n_steps=16)
    got = {m["name"]: m["total"] for m in job["result"]["modalities"]}
    assert got == pytest.approx(want["totals"], rel=1e-6)
    for estimator, values in want["values"].items():
        assert job["result"]["contributions"][estimator]["values"] == pytest.approx(
            values, rel=1e-6
        )
    again = client.post("/api/run", json=body, headers=headers).json()  # from the cache
    assert again["status"] == "done" and again["result"] == job["result"]


def test_twenty_concurrent_requests_get_the_right_numbers(explorer):
    server = explorer.serve(port=0, block=False)
    assert server.host == "127.0.0.1"
    methods = ["integrated_gradients", "saliency", "input_x_gradient", "feature_ablation"] * 5
    requests = [{"example": i % 6, "method": method} for i, method in enumerate(methods)]
    for i, body in enumerate(requests):
        if body["method"] == "integrated_gradients":
            body["n_steps"] = 4 + i  # distinct settings: no two requests share a cached view
    headers = {"X-Mmattr-Token": server.token}

    def view(body: dict) -> dict:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", headers=headers) as http:
            return _wait(http, http.post("/api/run", json=body).json(), headers)

    try:
        with ThreadPoolExecutor(20) as pool:
            jobs = list(pool.map(view, requests))
    finally:
        server.stop()
    assert [job["status"] for job in jobs] == ["done"] * 20
    for body, job in zip(requests, jobs):
        params = {"n_steps": body["n_steps"]} if "n_steps" in body else {}
        want = expected_view(explorer, body["example"], body["method"], **params)
        got = {m["name"]: m["total"] for m in job["result"]["modalities"]}
        assert got == pytest.approx(want["totals"], rel=1e-6, abs=1e-9), body


def test_cancelled_run_leaves_the_model_unchanged(explorer):
    model = explorer.model
    explorer.examples()  # predictions first: the blocked call is inside the attribution
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    model.calls, model.block_at = 0, 2  # the 2nd call: the embedding's baseline, hooked
    job = explorer.submit({"example": 1, "method": "integrated_gradients"})
    assert model.started.wait(10)
    explorer.runner.cancel(job.id)
    model.gate.set()
    assert job.wait(10) and job.status == "cancelled"
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert not model.training and [p.requires_grad for p in model.parameters()] == flags
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    model.block_at = None
    after = explorer.view({"example": 1, "method": "integrated_gradients"})
    want = expected_view(explorer, 1, "integrated_gradients")
    assert {m["name"]: m["total"] for m in after["modalities"]} == pytest.approx(
        want["totals"], rel=1e-6
    )


def test_export_is_explanation_save(client, explorer, tmp_path):
    import io
    import zipfile

    from mmattr import Explanation

    headers = {"X-Mmattr-Token": TOKEN}
    body = {"example": 4, "method": "saliency"}
    job = _wait(client, client.post("/api/run", json=body, headers=headers).json(), headers)
    assert client.get(f"/api/save/{job['job']}").status_code == 403
    response = client.get(f"/api/save/{job['job']}", headers=headers)
    assert response.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(response.content)).extractall(tmp_path)
    loaded = Explanation.load(tmp_path / "explanation.json")
    want = expected_view(explorer, 4, "saliency")
    got = {k: float(v.double().sum()) for k, v in loaded.attributions.items()}
    assert got == pytest.approx(want["totals"], rel=1e-6)
    assert loaded.contributions["leave_one_out"].values == pytest.approx(
        want["values"]["leave_one_out"]
    )


def test_work_per_request_is_bounded(client, explorer, monkeypatch):
    from mmattr.insights import _jobs

    monkeypatch.setattr(_jobs, "MAX_PENDING", 2)
    headers = {"X-Mmattr-Token": TOKEN}
    model = explorer.model
    explorer.examples()
    model.calls, model.block_at = 0, 1  # the first view holds the worker
    try:
        codes = [
            client.post("/api/run", json={"example": i, "method": "saliency"}, headers=headers)
            for i in range(3)
        ]
        assert [c.status_code for c in codes] == [200, 200, 429]
        assert codes[2].json()["error"] == "2 views are waiting; try again when they finish"
    finally:
        model.gate.set()
    for response in codes[:2]:
        assert _wait(client, response.json(), headers)["status"] == "done"
