"""Domain verifiers, dataset validation and the student evaluation harness."""
