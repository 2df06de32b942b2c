public enum ZMeshPlaceholder {}
