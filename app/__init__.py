"""The PySide6 desktop app: shows and controls the engine's Stylizer. All Qt code lives here."""
