"""The serving process: gunicorn settings, the gevent worker, TLS, the Flask app and /validate."""
