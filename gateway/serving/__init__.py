"""The serving side: what a request does between its router and a worker, one module per task.

Each task admits the request to a worker's queue (registry.py, queues.py: a ticket that gives
its place back by itself), checks it against the loaded model, decodes the audio, then runs
the worker in its threads or hands the ticket to a stream (gateway/streaming.py). Routers only
parse and render; workers (models/) only compute.
"""
