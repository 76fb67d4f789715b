"""The yardstick of ``bench.http``: a bare FastAPI hello-world, served exactly like the platform."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
