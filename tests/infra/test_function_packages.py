"""Every function of the synthesized template imports with only its own layers (or image) and the
runtime's packages: what a cold start in AWS would find, not the host's site-packages."""

from concurrent.futures import ThreadPoolExecutor

from local.assembly import load_stack
from local.packages import function_site_dirs, import_error, template_environment

STACK = "MlopsPlatform"


def _functions(stack):
    for logical_id, resource in stack.resources.items():
        if resource["Type"] == "AWS::Lambda::Function" and "ZipFile" not in resource["Properties"].get("Code", {}):
            yield logical_id, resource


def _read(stack, resource, is_image):
    asset = stack.asset_dir(resource)
    if is_image:
        return asset / "functions", resource["Properties"]["ImageConfig"]["Command"][0]
    return asset, resource["Properties"]["Handler"]


def test_every_function_imports_under_its_own_package_set(cloud_assembly):
    # Given the synthesized stack
    stack = load_stack(cloud_assembly, STACK)
    functions = dict(_functions(stack))
    assert len(functions) >= 15

    # When each handler is imported as a cold start would, with only its layers on the path
    def check(item):
        logical_id, resource = item
        code_dir, handler = _read(stack, resource, resource["Properties"].get("PackageType") == "Image")
        return logical_id, import_error(code_dir, handler, function_site_dirs(stack, resource), template_environment(resource))

    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = {logical_id: error["errorMessage"] for logical_id, error in pool.map(check, functions.items()) if error}

    # Then none fails
    assert failures == {}


def test_a_package_its_layers_lack_fails_the_import_naming_the_module(cloud_assembly):
    # Given the API function (which predicts with numpy and onnxruntime) without its serving layer
    stack = load_stack(cloud_assembly, STACK)
    logical_id, api = next((k, r) for k, r in _functions(stack) if r["Properties"].get("Handler") == "handlers.handle_api.lambda_handler")
    without_serving = {**api, "Properties": {**api["Properties"], "Layers": api["Properties"]["Layers"][:1]}}

    # When it is imported with what remains
    code_dir, handler = _read(stack, api, False)
    error = import_error(code_dir, handler, function_site_dirs(stack, without_serving), template_environment(api))

    # Then the cold start fails as Lambda's does, naming the handler and the missing module
    assert error is not None, logical_id
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'handlers.handle_api'" in error["errorMessage"]
    assert "No module named" in error["errorMessage"]


def test_a_function_deployed_without_a_variable_it_needs_stops_at_cold_start_naming_it(cloud_assembly):
    # Given the Ingest function without its runs table
    stack = load_stack(cloud_assembly, STACK)
    ingest = next(r for _, r in _functions(stack) if r["Properties"].get("Handler") == "handlers.handle_ingest.lambda_handler")
    environment = {k: v for k, v in template_environment(ingest).items() if k != "RUNS_TABLE"}

    # When it is imported
    code_dir, handler = _read(stack, ingest, False)
    error = import_error(code_dir, handler, function_site_dirs(stack, ingest), environment)

    # Then it stops there, naming the variable
    assert error is not None and "RUNS_TABLE must be set for this function" in error["errorMessage"]
