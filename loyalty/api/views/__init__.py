"""The loyalty API's viewsets: store (scanner), platform admin, public."""
