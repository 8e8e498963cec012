"""Engine implementations. Each subpackage holds one engine; ids are in
``dalston.engine_sdk.registry``."""
