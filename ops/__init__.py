"""Operations: the health endpoint, beat's heartbeat and log formatting.

ops imports only the core (yaypay_mail): nothing from communications, settings_app
or statements, so that health keeps answering whatever those apps do.
"""
