; Inno Setup script for Diffusion Studio on Windows (iscc packaging\windows\diffusion-studio.iss).
; Inputs, made on the Windows runner by `python packaging\build.py --no-runtime` and, for each runtime,
; `python packaging\runtime_folder.py dist\runtime-cuda --pip torch torchvision --index-url <CUDA wheel index>`
; (and dist\runtime-cpu from the CPU wheel index):
;   dist\DiffusionStudio\            the one-folder app (torch left out)
;   dist\runtime-cuda\, dist\runtime-cpu\   the torch runtime folders (pip --target, CUDA and CPU wheels)
;   build\icons\app.ico              from resources\icons\app.svg
; Install types "NVIDIA GPU" and "CPU only" pick the runtime; "NVIDIA GPU" is preselected when an NVIDIA driver
; is present. The CUDA runtime (about 3 GB) goes past what one setup file may hold, so it is embedded with disk
; spanning (DiskSpanning, slices beside the .exe). NSIS cannot exceed 2 GB.

#define AppName "Diffusion Studio"
#define AppVersion "0.1.0"
#define AppExe "DiffusionStudio.exe"
#define Root "..\.."

[Setup]
AppId={{6B1C9E52-3D7A-4F0E-9D43-52C1A7B0D5E1}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Diffusion Studio developers
DefaultDirName={autopf}\Diffusion Studio
DefaultGroupName={#AppName}
UninstallDisplayIcon={app}\{#AppExe}
SetupIconFile={#Root}\build\icons\app.ico
OutputDir={#Root}\dist
OutputBaseFilename=DiffusionStudio-{#AppVersion}-windows-setup
Compression=lzma2/max
SolidCompression=no
DiskSpanning=yes
DiskSliceSize=max
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
WizardStyle=modern

[Types]
Name: "nvidia"; Description: "NVIDIA GPU (CUDA runtime, fastest)"
Name: "cpu"; Description: "CPU only (any computer, slow)"

[Components]
Name: "app"; Description: "Diffusion Studio"; Types: nvidia cpu; Flags: fixed
Name: "runtime_cuda"; Description: "PyTorch for NVIDIA GPUs"; Types: nvidia; Flags: exclusive
Name: "runtime_cpu"; Description: "PyTorch for the processor"; Types: cpu; Flags: exclusive

[Files]
Source: "{#Root}\dist\DiffusionStudio\*"; DestDir: "{app}"; Components: app; Flags: ignoreversion recursesubdirs createallsubdirs; Excludes: "runtime\*"
Source: "{#Root}\dist\runtime-cuda\*"; DestDir: "{app}\runtime"; Components: runtime_cuda; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "{#Root}\dist\runtime-cpu\*"; DestDir: "{app}\runtime"; Components: runtime_cpu; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; A switch between CPU and CUDA must not leave the other build's libraries behind.
Type: filesandordirs; Name: "{app}\runtime"

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\{#AppExe}"; Description: "Start Diffusion Studio"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Bytecode torch writes beside itself; the artist's models and images in %LOCALAPPDATA% are kept.
Type: filesandordirs; Name: "{app}\runtime"

[Code]
function HasNvidiaDriver(): Boolean;
begin
  Result := FileExists(ExpandConstant('{sys}\nvml.dll')) or FileExists(ExpandConstant('{sys}\nvcuda.dll'));
end;

procedure InitializeWizard();
begin
  if HasNvidiaDriver() then
    WizardForm.TypesCombo.ItemIndex := 0
  else
    WizardForm.TypesCombo.ItemIndex := 1;
  WizardForm.TypesCombo.OnChange(WizardForm.TypesCombo);
end;
