"""Persistence: SQLAlchemy models, the async session, and one repository per aggregate."""
