# The image compose.yaml runs, for the web app and the workers alike. Not built on the
# machine this was written on (no Docker there): see compose.yaml.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libimage-exiftool-perl \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 mediaparser \
 && mkdir -p /data /photos && chown mediaparser: /data
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -c constraints.txt -e '.[scale]'
USER mediaparser
ENV PYTHONUNBUFFERED=1
EXPOSE 5000
CMD ["python", "run.py"]
