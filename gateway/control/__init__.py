"""The control plane: call flow, ACD driver, agent presence, trunks, daemon."""
