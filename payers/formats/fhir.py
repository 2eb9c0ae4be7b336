"""Shared Da Vinci PAS constants. Inbound FHIR is parsed with the `fhir.resources` R4B models
(payers/formats/pas.py); outbound Bundles are validated against them in tests."""

from __future__ import annotations

PAS_BASE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
