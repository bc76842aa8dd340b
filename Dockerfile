# The one image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.13-slim
# PYTHONPATH: every app directory under /app is importable as copied, listed or not.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app
WORKDIR /app
# All of the tree but what .dockerignore leaves out: new apps need no line here.
COPY . .
RUN pip install --no-cache-dir . \
 && DEBUG=true python manage.py collectstatic --noinput
# Production unless told otherwise: with DEBUG off the app refuses to start without its
# own SECRET_KEY, FERNET_KEYS and broker, and turns on HTTPS-only cookies and HSTS.
ENV DEBUG=false
USER nobody
EXPOSE 8000
# gthread: a request may wait on SMTP (the settings page sends its test message in the
# request, up to SMTP_DEADLINE, 30 s by default), so threads keep other requests moving
# and --timeout stays well above that deadline. --no-control-socket: gunicorn 27 would
# otherwise open ~/.gunicorn/gunicorn.ctl, one path that every instance on a host shares.
CMD ["gunicorn", "yaypay_mail.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", "--workers", "2", "--threads", "8", \
     "--timeout", "60", "--graceful-timeout", "30", \
     "--worker-tmp-dir", "/dev/shm", "--no-control-socket"]
