"""Colander schemas: one per record type, feeding generated deform forms.

Schemas are bound before use: ``schema.bind(request=…, context=…, adding=…)``
gives validators the place in the tree and widgets the user's language.
"""
