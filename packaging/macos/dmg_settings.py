"""dmgbuild settings for the macOS disk image (run on a macOS runner after ``python packaging/build.py``):

    dmgbuild -s packaging/macos/dmg_settings.py "Diffusion Studio" dist/DiffusionStudio-<version>-macos-arm64.dmg

The .app (torch inside: MPS is the only macOS build) is signed with entitlements.plist beside this file before:
    codesign --deep --force --options runtime --entitlements packaging/macos/entitlements.plist \
        --sign "$IDENTITY" "dist/Diffusion Studio.app"
"""

import os.path

# dmgbuild runs this file with exec(); paths are relative to the repository root it is started from.
application = defines.get("app", "dist/Diffusion Studio.app")  # noqa: F821 (dmgbuild provides `defines`)
appname = os.path.basename(application)

format = "UDZO"
filesystem = "HFS+"
size = None  # dmgbuild measures the .app
files = [application]
symlinks = {"Applications": "/Applications"}
badge_icon = "build/icons/app.icns"
icon_locations = {appname: (140, 160), "Applications": (420, 160)}
background = "builtin-arrow"
window_rect = ((200, 120), (560, 360))
default_view = "icon-view"
show_status_bar = False
show_tab_view = False
show_toolbar = False
show_pathbar = False
show_sidebar = False
icon_size = 112
text_size = 13
license = None
