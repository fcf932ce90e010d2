FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY connectors ./connectors
COPY plugins ./plugins
COPY admin_ui ./admin_ui
COPY migrations ./migrations
RUN pip install --no-cache-dir . gunicorn
USER nobody
EXPOSE 8000
CMD ["hub", "serve", "--host", "0.0.0.0"]
