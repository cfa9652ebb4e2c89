// After a security key is registered (django-otp-webauthn's register_complete event), go to
// the page named by data-after-register on the registration block. No inline script: CSP.
document.addEventListener("otp_webauthn.register_complete", function () {
  var block = document.querySelector("[data-after-register]");
  if (block) {
    window.location.assign(block.getAttribute("data-after-register"));
  }
});
