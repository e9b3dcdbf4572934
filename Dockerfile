# Airflow image with the project's pinned requirements; the project itself is mounted by compose.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt
