FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY yaypay_mail ./yaypay_mail
COPY settings_app ./settings_app
COPY communications ./communications
COPY statements ./statements
COPY dev ./dev
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install --no-cache-dir . gunicorn \
 && DEBUG=true python manage.py collectstatic --noinput
USER nobody
EXPOSE 8000
CMD ["gunicorn", "yaypay_mail.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
