"""The package the notebooks call. Importing it quiets two third-party notices that would otherwise land
in every stored notebook output: tqdm's "IProgress not found" (no ipywidgets under papermill) and a
deprecation warning raised inside peft's own call into transformers."""
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
