"""Storage: SQLAlchemy 2 typed models and async sessions."""
