"""Linking funds and project assets (衔接资金, 项目库, 扶贫项目资产)."""
