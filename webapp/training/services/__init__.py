"""Training run services: runs (launch, cancel, resume, backbone), metrics, execution."""
