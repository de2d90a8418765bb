// The compiled addon: build/Release/dcgan_native_kernels.node, made by `node-gyp rebuild` at install.
module.exports = require("./build/Release/dcgan_native_kernels.node");
