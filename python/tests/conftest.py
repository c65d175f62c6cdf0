# The package's own tests. They use the installed package (its pytest plugin
# is loaded through its entry point, as for any user); pytester runs whole
# pytest sessions to check what the plugin reports.
pytest_plugins = ["pytester"]
