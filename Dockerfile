# The production image: one image, one service per container (`capitals serve <service>`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY capitals ./capitals
COPY shared ./shared
COPY services ./services
RUN pip install . && useradd --system --home /data capitals && mkdir -p /data && chown capitals /data
USER capitals
ENV CAPITALS_DATA_DIR=/data
EXPOSE 8001 8002 8003
ENTRYPOINT ["capitals"]
CMD ["serve", "registration", "--host", "0.0.0.0"]
